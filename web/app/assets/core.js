// The page's (and the service worker's) handle on the client core in wasm.
//
// Everything the app decides is decided in Rust (quet-client through quet-web);
// this module only (1) loads the wasm, (2) keeps the core's rows in IndexedDB,
// committing every write in one transaction before an operation returns, and
// (3) performs the HTTP requests the core asks for. Several tabs and the service
// worker may hold a core at once: operations run under one Web Lock, and a core
// whose rows another holder changed reloads them first.
import init, { PhoneApp } from "./quet_web.js";

const DB_NAME = "quet";
const ROWS = "rows";
const GEN = "gen/store"; // changes on every commit; tells other holders to reload
const LOCK = "quet-store";

/** An error from the core: a stable kind and the text in both languages. */
export class QuetError extends Error {
  constructor(kind, vi, en, retryAt) {
    super(en);
    this.kind = kind;
    this.vi = vi;
    this.en = en;
    this.retryAt = retryAt || null; // wrong PINs: when the next attempt is allowed
  }
  static from(e) {
    if (e instanceof QuetError) return e;
    if (typeof e === "string") {
      try {
        const j = JSON.parse(e);
        return new QuetError(j.kind, j.vi, j.en, j.retry_at);
      } catch (_) { /* not the core's error */ }
    }
    const m = String((e && e.message) || e);
    return new QuetError("internal", "Lỗi: " + m, "Error: " + m);
  }
}

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function openDb() {
  const r = indexedDB.open(DB_NAME, 1);
  r.onupgradeneeded = () => r.result.createObjectStore(ROWS);
  return request(r);
}

async function readAll(db) {
  const tx = db.transaction(ROWS, "readonly");
  const store = tx.objectStore(ROWS);
  const [keys, values] = await Promise.all([request(store.getAllKeys()), request(store.getAll())]);
  return keys.map((k, i) => [k, values[i]]);
}

async function readGen(db) {
  const tx = db.transaction(ROWS, "readonly");
  const v = await request(tx.objectStore(ROWS).get(GEN));
  return v ? Array.from(v).join(",") : "";
}

/** Commits writes in one transaction; resolves only once IndexedDB says it is durable. */
function commit(db, writes) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(ROWS, "readwrite", { durability: "strict" });
    const store = tx.objectStore(ROWS);
    for (const [k, v] of writes) {
      if (v === null || v === undefined) store.delete(k);
      else store.put(v, k);
    }
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("IndexedDB transaction aborted"));
  });
}

const locks = (typeof navigator !== "undefined" && navigator.locks) || {
  request: (_name, fn) => fn(), // no Web Locks: one holder only
};

export const now = () => Math.floor(Date.now() / 1000);

export class Core {
  static async open() {
    await init();
    const c = new Core();
    c.db = await openDb();
    await locks.request(LOCK, () => c.reload());
    return c;
  }

  async reload() {
    if (this.app) this.app.free();
    this.app = PhoneApp.open(await readAll(this.db));
    // Times in the core's messages: the device's offset now (UTC+7 when the
    // device has no zone, as the screens do).
    const z = Intl.DateTimeFormat().resolvedOptions().timeZone;
    PhoneApp.setUtcOffset(!z || z === "UTC" || z === "Etc/UTC" ? 420 : -new Date().getTimezoneOffset());
    this.gen = await readGen(this.db);
    await this.flush();
  }

  async flush() {
    const writes = this.app.takeWrites();
    if (writes.length === 0) return;
    const gen = crypto.getRandomValues(new Uint8Array(8));
    writes.push([GEN, gen]);
    await commit(this.db, writes);
    this.gen = Array.from(gen).join(",");
  }

  /** Runs `fn(app)` under the store lock; its writes are durable when this resolves. */
  run(fn) {
    return locks.request(LOCK, async () => {
      if ((await readGen(this.db)) !== this.gen) await this.reload();
      try {
        const out = fn(this.app);
        await this.flush();
        return out === undefined ? undefined : JSON.parse(out);
      } catch (e) {
        await this.flush();
        throw QuetError.from(e);
      }
    });
  }

  /**
   * Drives an operation that needs the network: `begin(app)` gives the first step;
   * each `{need: request}` is fetched and its answer handed back to the core,
   * until `{done: result}`. The core verifies and commits; this only moves bytes.
   */
  drive(begin, onRequest) {
    return locks.request(LOCK, async () => {
      if ((await readGen(this.db)) !== this.gen) await this.reload();
      let step = () => begin(this.app);
      for (let round = 0; round < 10000; round++) {
        let r;
        try {
          r = JSON.parse(step());
        } catch (e) {
          await this.flush();
          throw QuetError.from(e);
        }
        await this.flush();
        if ("done" in r) return r.done;
        const need = r.need;
        if (onRequest) onRequest(need);
        let resp, body;
        try {
          resp = await fetch(need.url, {
            method: need.method,
            body: need.method === "POST" ? need.body : undefined,
            headers: need.method === "POST" ? { "content-type": "application/json" } : {},
            credentials: "omit",
            redirect: "error",
            referrerPolicy: "no-referrer",
            cache: "no-store",
            signal: AbortSignal.timeout(30000),
          });
          body = new Uint8Array(await resp.arrayBuffer());
        } catch (e) {
          this.app.abandon();
          throw new QuetError("network",
            "Không kết nối được máy chủ. Kiểm tra mạng rồi thử lại.",
            "Cannot reach the server. Check the network and try again.");
        }
        const retry = parseInt(resp.headers.get("retry-after") || "", 10);
        step = () => this.app.answer(resp.status, body, Number.isFinite(retry) ? retry : undefined, now());
      }
      throw new QuetError("internal", "Quá nhiều yêu cầu.", "Too many requests.");
    });
  }

  state() { return this.run((a) => a.state(now())); }
  diary() { return this.run((a) => a.diary(now())); }
  alerts() { return this.run((a) => a.alerts()); }
  checkIn(text) { return this.run((a) => a.checkIn(text, now())); }
  checkOut(id) { return this.run((a) => a.checkOut(id || 0, now())); }
  setStay(id, minutes) { return this.run((a) => a.setStay(id || 0, minutes, now())); }
  deleteCheckIn(id) { return this.run((a) => a.deleteCheckIn(id)); }
  deleteAll() { return this.run((a) => a.deleteAll()); }
  setRetention(days) { return this.run((a) => a.setRetention(days)); }
  pinAuthority(bytes) { return this.run((a) => a.pinAuthority(bytes)); }
  removeAuthority(id) { return this.run((a) => a.removeAuthority(id)); }
  setPin(pin) { return this.run((a) => a.setPin(pin)); }
  setPrf(output) { return this.run((a) => a.setPrf(output)); }
  unlockWithPin(pin) { return this.run((a) => a.unlockWithPin(pin, now())); }
  unlockWithPrf(output) { return this.run((a) => a.unlockWithPrf(output, now())); }
  /** Forgets the diary secret now (no store write, so no lock wait). */
  lock() { if (this.app) this.app.lock(); }
  sync(onRequest) { return this.drive((a) => a.syncBegin(now()), onRequest); }
  reportPreview(code, authority) {
    return this.drive((a) => a.reportPreviewBegin(authority ?? undefined, code));
  }
  reportSubmit() { return this.drive((a) => a.reportSubmitBegin()); }
  /** When the next chaff request is due: {step: "preview"|"upload", at}. */
  chaffDue() { return this.run((a) => a.chaffDue(now())); }
  /** Sends the chaff request due now, if any, exactly as a report's is sent. */
  chaff() { return this.drive((a) => a.chaffBegin(now())); }
  static inspectDescriptor(bytes) {
    try { return JSON.parse(PhoneApp.inspectDescriptor(bytes)); } catch (e) { throw QuetError.from(e); }
  }
}

/** Fetches an authority's signed descriptor (the core verifies it when pinning). */
export async function fetchDescriptor(baseUrl) {
  const url = baseUrl.replace(/\/+$/, "") + "/v1/descriptor";
  const r = await fetch(url, { credentials: "omit", cache: "no-store", signal: AbortSignal.timeout(30000) });
  if (!r.ok) throw new QuetError("network", `Máy chủ trả lời ${r.status}.`, `The server answered ${r.status}.`);
  return new Uint8Array(await r.arrayBuffer());
}
