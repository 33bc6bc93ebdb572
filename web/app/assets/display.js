// The venue's screen in a browser (/display): import the display file once (it
// stays here, encrypted; the passphrase is asked again after a restart), then
// show the rotating code, computed in wasm from the file's day keys, offline.
// Every rule is Rust's (quet-web's VenueDisplay over the venue crate's parser and
// the protocol's code issuer); this file only draws.
import init, { VenueDisplay } from "./quet_display.js";
import { t, bi, time } from "./i18n.js";
import { h } from "./dom.js";

const FILE_KEY = "quet.display-file"; // the display file as exported: encrypted
const main = document.getElementById("main");
let display = null;
let timer = null;
let wakeLock = null;

function screen(name, ...children) {
  document.body.dataset.screen = name;
  main.replaceChildren(...children.flat().filter(Boolean));
}

function errorCard(e) {
  let j;
  try { j = JSON.parse(String(e)); } catch (_) { j = { kind: "internal", vi: String(e), en: String(e) }; }
  return h("div", { class: "card bad", role: "alert", "data-error": j.kind }, bi(j.vi, j.en));
}

/** Import: a file from the venue tool and its passphrase. */
function importScreen(stored) {
  const file = h("input", { id: "display-file", type: "file", accept: ".json,.quet-display,application/json" });
  const pass = h("input", { id: "display-passphrase", type: "password", autocomplete: "off" });
  const out = h("div", { id: "display-out", "aria-live": "polite" });
  const open = async () => {
    let text = stored;
    if (file.files && file.files[0]) text = await file.files[0].text();
    if (!text) return out.replaceChildren(errorCard(JSON.stringify({ kind: "no_file", vi: "Hãy chọn tệp hiển thị.", en: "Choose the display file." })));
    try {
      display = VenueDisplay.open(text, pass.value);
    } catch (e) { return out.replaceChildren(errorCard(e)); }
    pass.value = "";
    localStorage.setItem(FILE_KEY, text);
    show();
  };
  screen("import",
    h("h2", {}, t("displayTitle")),
    h("p", {}, stored ? t("displayUnlock") : t("displayIntro")),
    stored ? null : [h("label", { for: "display-file" }, t("displayFile")), file],
    h("label", { for: "display-passphrase" }, t("displayPassphrase")), pass,
    h("button", { class: "primary", id: "display-open", onclick: open }, t("displayOpen")),
    out,
    stored ? h("button", { id: "display-forget", onclick: () => { localStorage.removeItem(FILE_KEY); importScreen(null); } }, t("displayForget")) : null,
  );
}

/** Draws the QR modules (size × size, '1' dark) with a 4-module quiet zone. */
function drawQr(canvas, size, modules) {
  const q = 4, n = size + 2 * q, scale = Math.max(4, Math.floor(720 / n));
  canvas.width = canvas.height = n * scale;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = "#000";
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    if (modules[y * size + x] === "1") ctx.fillRect((x + q) * scale, (y + q) * scale, scale, scale);
  }
}

function show() {
  const info = JSON.parse(display.info());
  const canvas = h("canvas", { class: "qr", id: "qr", role: "img", "aria-label": `QR: ${info.name}` });
  const status = h("p", { class: "muted countdown", id: "countdown" });
  const body = h("div", { id: "showing" });
  screen("display",
    h("div", { class: "venue", id: "venue-name" }, info.name),
    h("div", {}, info.address),
    body,
    h("p", {}, t("displayScan")),
    status,
    h("p", { class: "muted" }, info.registered ? t("registeredWith", { authority: info.authority }) : t("displayUnregistered")),
    h("p", { class: "muted" }, t("displayValid"), " ", time(info.from), " – ", time(info.until - 60)),
  );
  const tick = () => {
    let s;
    try { s = JSON.parse(display.showing(Math.floor(Date.now() / 1000))); }
    catch (e) { body.replaceChildren(errorCard(e)); timer = setTimeout(tick, 60000); return; }
    if (s.state === "code") {
      if (body.dataset.url !== s.url) {
        drawQr(canvas, s.size, s.modules);
        body.dataset.url = s.url;
        body.replaceChildren(canvas);
      }
      status.replaceChildren(t("displayNext", { s: s.refresh_in }));
      timer = setTimeout(tick, 1000);
    } else {
      body.dataset.url = "";
      body.replaceChildren(h("div", { class: "card warn" },
        s.state === "event_not_started" ? t("eventNotStarted", { time: time(s.start) }) : t("eventEnded", { time: time(s.end) })));
      timer = setTimeout(tick, 15000);
    }
  };
  clearTimeout(timer);
  tick();
  keepAwake();
}

/** Keeps the screen on while the code is shown (where the browser allows). */
async function keepAwake() {
  try {
    if ("wakeLock" in navigator && document.visibilityState === "visible") wakeLock = await navigator.wakeLock.request("screen");
  } catch (_) { /* not allowed: the device's own settings apply */ }
}
document.addEventListener("visibilitychange", () => { if (display && !document.hidden) keepAwake(); });

async function start() {
  await init();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/", type: "module" }).catch(() => {});
    // The phone app's worker does not pre-cache the display's wasm; keep it for
    // offline starts (same versioned cache, so the next version replaces it).
    const here = new URL(".", import.meta.url).pathname;
    navigator.serviceWorker.ready.then(async () => {
      const cache = await caches.open("quet-app-" + document.body.dataset.version);
      await cache.addAll([here + "quet_display.js", here + "quet_display_bg.wasm"]);
    }).catch(() => { /* online only until it can */ });
  }
  importScreen(localStorage.getItem(FILE_KEY));
}

start();
