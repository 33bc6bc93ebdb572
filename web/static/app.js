// Quét phone web app: the page a phone camera opens from a venue's QR code.
// All protocol work happens in wasm (quet-web); this file only moves strings
// between the URL fragment, localStorage and the page. The fragment (the code)
// is never sent to any server.
import init, { check_in, describe_code, match_bulletin } from "./pkg/quet_web.js";

const store = {
  get: (k, d) => JSON.parse(localStorage.getItem("quet:" + k) ?? JSON.stringify(d)),
  set: (k, v) => localStorage.setItem("quet:" + k, JSON.stringify(v)),
};
const now = () => Math.floor(Date.now() / 1000);
const $ = (id) => document.getElementById(id);
const show = (html, cls = "") => { $("status").className = "card " + cls; $("status").innerHTML = html; };
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function descriptor() {
  let d = store.get("descriptor", null);
  if (!d) {
    const r = await fetch("/v1/descriptor");
    if (!r.ok) throw new Error("descriptor " + r.status);
    const bytes = new Uint8Array(await r.arrayBuffer());
    d = btoa(String.fromCharCode(...bytes));
    store.set("descriptor", d); // pinned on first use; compare the fingerprint with the HA's
  }
  return d;
}

async function scan() {
  const code = location.hash.slice(1);
  if (!code) { show("Quét mã QR tại địa điểm để khai báo. <span class='en'>Scan a venue's QR code to check in.</span>"); return; }
  const d = await descriptor();
  const checkIn = JSON.parse(check_in("https://x/c#" + code, now(), d));
  history.replaceState(null, "", location.pathname); // drop the code from the address bar
  const diary = store.get("checkins", []);
  diary.push({ id: Date.now(), ...checkIn });
  store.set("checkins", diary);
  const v = checkIn.venue;
  show(`<b>Đã khai báo tại ${esc(v.name)}</b><br>${esc(v.address)}<br>${esc(v.category_vi)}<br>
        <span class="en">Checked in at ${esc(v.name)} (${esc(v.category_en)}). Automatic check-out after ${v.max_stay_minutes} min.</span>`);
}

async function sync() {
  const d = await descriptor();
  const index = await (await fetch("/v1/bulletins/index.json", { cache: "no-cache" })).json();
  let chain = store.get("chain", null);
  const tokens = JSON.stringify(store.get("checkins", []).map((c) => ({ id: c.id, token: c.token })));
  const start = chain ? chain.sequence + 1 : index.first;
  for (let seq = start; seq && seq <= index.latest; seq++) {
    const bytes = new Uint8Array(await (await fetch(`/v1/bulletins/${seq}`)).arrayBuffer());
    const result = JSON.parse(match_bulletin(btoa(String.fromCharCode(...bytes)), d, chain ? JSON.stringify(chain) : "", tokens, now()));
    chain = result.chain;
    const alerts = store.get("alerts", []).filter((a) => !result.withdrawn.includes(a.notice));
    for (const e of result.exposures) if (!alerts.some((a) => a.id === e.id && a.notice === e.notice)) alerts.push(e);
    store.set("alerts", alerts);
    store.set("chain", chain);
  }
  for (const a of store.get("alerts", [])) {
    $("diary").insertAdjacentHTML("beforeend", `<div class="card alert"><b>${esc(a.severity_vi)}</b> — ${esc(a.venue)}<br>${esc(a.message_vi)}<br><span class="en">${esc(a.severity_en)}: ${esc(a.message_en)}</span></div>`);
  }
}

init().then(scan).then(sync).catch((e) => show(`Lỗi: ${esc(e.message ?? e)}<br><span class="en">Error: ${esc(e.message ?? e)}</span>`, "error"));
export { describe_code };
