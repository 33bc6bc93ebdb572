// The in-app scanner: camera frames (getUserMedia) drawn to a canvas, their pixels
// handed to the QR decoder (rxing, in its own wasm file `quet_scanner`) running in
// a dedicated worker. Scanning makes no network request once the scanner is
// cached, and the code never enters the browser's history (unlike opening the link).
//
// The decoder is loaded only here, when the camera opens: opening a venue's link
// never downloads it. The service worker caches it on that first fetch, so the
// next scans work offline.
//
// Defence in depth: a decoder that traps (a wasm `unreachable`, as a Rust panic
// under panic = "abort" is) or takes longer than FRAME_TIMEOUT_MS on a frame costs
// that frame only: the worker, and with it the wasm instance, is dropped, a new
// one is made, and the next frame is read by it.

/** How long one frame may take before its decoder is dropped (a 800-px frame takes ~30 ms). */
export const FRAME_TIMEOUT_MS = 3000;

/** The decoder could not be loaded (offline before it was ever cached, or broken). */
export class ScannerUnavailable extends Error {
  constructor(message) {
    super(message);
    this.kind = "scanner_unavailable";
  }
}

/** The decoder in a dedicated worker; `decode` resolves to the code's text or null. */
export class FrameDecoder {
  constructor({ timeoutMs = FRAME_TIMEOUT_MS } = {}) {
    this.timeoutMs = timeoutMs;
    this.worker = null;
    this.starting = null;
    this.next = 1;
    this.waiting = new Map(); // id -> {resolve, timer}
    this.restarts = 0; // instances dropped after a trap or a timeout
    this.traps = 0;
    this.timeouts = 0;
  }

  /** Starts the worker (loads the decoder) if none runs; rejects with ScannerUnavailable. */
  ready() {
    if (this.worker) return Promise.resolve(this.worker);
    if (this.starting) return this.starting;
    this.starting = new Promise((resolve, reject) => {
      let worker;
      try {
        worker = new Worker(new URL("./scanner-worker.js", import.meta.url), { type: "module" });
      } catch (e) {
        reject(new ScannerUnavailable(String(e)));
        return;
      }
      worker.onmessage = (e) => {
        if (e.data && e.data.ready) {
          worker.onmessage = (m) => this.answer(worker, m.data);
          worker.onerror = () => this.drop(worker);
          this.worker = worker;
          resolve(worker);
        } else {
          worker.terminate();
          reject(new ScannerUnavailable((e.data && e.data.error) || "scanner failed to start"));
        }
      };
      worker.onerror = (e) => {
        worker.terminate();
        reject(new ScannerUnavailable(e.message || "scanner failed to load"));
      };
    }).finally(() => { this.starting = null; });
    return this.starting;
  }

  /** Decodes one RGBA frame (its buffer is transferred to the worker). */
  async decode(width, height, rgba) {
    const worker = await this.ready();
    const id = this.next++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timeouts++;
        this.drop(worker);
      }, this.timeoutMs);
      this.waiting.set(id, { resolve, timer });
      const pixels = new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.byteLength);
      worker.postMessage({ id, width, height, rgba: pixels }, [pixels.buffer]);
    });
  }

  /** Makes the worker's wasm instance trap (the browser test of the recovery). */
  async trapForTests() {
    const worker = await this.ready();
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, { resolve, timer: null });
      worker.postMessage({ id, trap: true });
    });
  }

  answer(worker, msg) {
    const w = this.waiting.get(msg.id);
    if (!w) return;
    this.waiting.delete(msg.id);
    clearTimeout(w.timer);
    if (msg.trapped) {
      this.traps++;
      this.drop(worker);
    }
    w.resolve(msg.text || null);
  }

  /** Drops a worker and its instance; frames waiting on it give null. */
  drop(worker) {
    worker.terminate();
    if (this.worker !== worker) return;
    this.worker = null;
    this.restarts++;
    for (const [, w] of this.waiting) { clearTimeout(w.timer); w.resolve(null); }
    this.waiting.clear();
  }

  close() {
    if (this.worker) this.worker.terminate();
    this.worker = null;
    for (const [, w] of this.waiting) { clearTimeout(w.timer); w.resolve(null); }
    this.waiting.clear();
  }
}

// One decoder for the page's life: a new worker makes the browser check for a
// service-worker update (a request for /sw.js), so scans after the first one in
// an open app reuse this worker and make no request at all.
let shared = null;

export class Scanner {
  constructor(decoder = (shared ||= new FrameDecoder())) {
    this.decoder = decoder;
    this.stream = null;
    this.timer = null;
    this.canvas = document.createElement("canvas");
  }

  /** Opens the camera and loads the decoder; calls onText with the first code read. */
  async start(video, onText) {
    const loading = this.decoder.ready();
    loading.catch(() => {}); // awaited below, after the camera
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
    try {
      await loading;
    } catch (e) {
      this.stop();
      throw e;
    }
    video.srcObject = this.stream;
    await video.play();
    const ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    const tick = async () => {
      if (!this.stream) return;
      const vw = video.videoWidth, vh = video.videoHeight;
      if (vw && vh) {
        // At most 800 px wide: enough modules per pixel for a screen-sized code.
        const scale = Math.min(1, 800 / vw);
        const w = Math.round(vw * scale), h = Math.round(vh * scale);
        this.canvas.width = w; this.canvas.height = h;
        ctx.drawImage(video, 0, 0, w, h);
        const text = await this.decoder.decode(w, h, ctx.getImageData(0, 0, w, h).data);
        if (!this.stream) return;
        if (text) { this.stop(); onText(text); return; }
      }
      this.timer = setTimeout(tick, 100);
    };
    tick();
  }

  stop() {
    clearTimeout(this.timer);
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
  }
}
