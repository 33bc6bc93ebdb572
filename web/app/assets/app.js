// Quét phone web app: screens and navigation. Every rule (what a valid code is,
// check-in, check-out, retention, chain verification, matching, reports) is the
// client core's, in wasm (core.js); this file only shows its results and passes
// the user's choices to it.
import { Core, QuetError, fetchDescriptor, now } from "./core.js";
import { T, t, tx, bi, setLang, lang, time } from "./i18n.js";
import { Scanner } from "./scanner.js";
import { Network } from "./network.js";
import { h } from "./dom.js";

const main = document.getElementById("main");
const tabs = document.getElementById("tabs");
let core;
let net;
let scanner;
let firstPin = null; // the authority pinned by this visit's first check-in

function screen(name, ...children) {
  if (scanner && name !== "scan") { scanner.stop(); scanner = null; }
  document.body.dataset.screen = name;
  delete document.body.dataset.locked;
  main.replaceChildren(...children.flat().filter(Boolean));
  for (const b of tabs.querySelectorAll("button")) {
    if (b.dataset.tab === tabOf(name)) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

function tabOf(name) {
  if (["diary"].includes(name)) return "diary";
  if (["alerts"].includes(name)) return "alerts";
  if (["more", "report", "authorities", "settings"].includes(name)) return "more";
  return "home";
}

function errorCard(e) {
  const q = QuetError.from(e);
  return h("div", { class: "card bad", role: "alert", "data-error": q.kind }, bi(q.vi, q.en));
}

function venueCard(c, cls = "") {
  return h("div", { class: "card " + cls },
    h("div", { class: "venue" }, c.venue_name),
    h("div", {}, c.venue_address),
    h("div", { class: "muted" }, bi(c.category_vi, c.category_en)),
    h("dl", {},
      h("dt", {}, t("arrived")), h("dd", {}, time(c.arrival)),
      c.checked_in ? [h("dt", {}, t("autoOut")), h("dd", { "data-departure": c.departure }, time(c.departure))]
        : [h("dt", {}, t("checkedOut")), h("dd", {}, time(c.departure))],
    ),
    h("div", { class: "muted" }, c.poster ? t("posterCode") : t("screenCode")),
    c.registered_with
      ? h("div", { class: "registered" }, t("registeredWith", { authority: c.registered_with }))
      : h("div", { class: "card warn unregistered" }, t("unregistered")),
    c.chain_check === "conflict" ? h("div", { class: "card bad", role: "alert" }, t("checkpointConflict")) : null,
  );
}

// ----- home -----

async function home(notice) {
  let s;
  try { s = await core.state(); } catch (e) { return screen("home", errorCard(e)); }
  const parts = [];
  if (notice) parts.push(notice);
  if (!navigator.onLine) parts.push(h("div", { class: "banner" }, t("offline")));
  if (s.active.length) {
    const c = s.active[0];
    parts.push(h("h2", {}, t("youAreAt")), venueCard(c, "ok"), stayControls(c));
  } else {
    parts.push(h("p", { class: "muted" }, t("notCheckedIn")));
  }
  parts.push(h("button", { class: "primary", id: "scan", onclick: scan }, t("scan")));
  if (s.alerts.length > 0) {
    parts.push(h("div", { class: "card bad", id: "exposed", role: "alert" },
      h("p", {}, locked(s) ? t("exposedLocked") : t("exposed")),
      h("button", { class: "danger", id: "see-alerts", onclick: () => alerts() }, locked(s) ? t("unlockToSee") : t("tabAlerts"), ` (${s.alerts.length})`)));
  }
  if (s.protection.unprotected) {
    parts.push(h("div", { class: "card warn", id: "pin-nudge" }, h("p", {}, t("pinWhy")),
      h("button", { id: "set-pin", onclick: () => pinSetup(home) }, t("setPin"))));
  }
  screen("home", parts);
}

function stayControls(c) {
  const maxMin = c.max_stay_minutes;
  const current = Math.round((c.departure - c.arrival) / 60);
  const sel = h("select", { id: "stay-minutes" });
  for (let m = 30; m <= maxMin; m += 30) sel.append(h("option", { value: m, selected: m === current }, `${m} ${tx("minutes")}`));
  if (![...sel.options].some((o) => Number(o.value) === maxMin)) sel.append(h("option", { value: maxMin, selected: maxMin === current }, `${maxMin} ${tx("minutes")}`));
  return h("div", {},
    h("button", { class: "primary", id: "check-out", onclick: async () => {
      try { const r = await core.checkOut(c.id); await home(h("div", { class: "card ok", role: "status" }, t("checkedOut"), " — ", r.venue_name)); }
      catch (e) { main.prepend(errorCard(e)); }
    } }, t("checkOut")),
    h("label", { for: "stay-minutes" }, t("stayLonger"), " (", t("maxStay"), ` ${maxMin} ${tx("minutes")})`),
    sel,
    h("button", { id: "stay", onclick: async () => {
      try { await core.setStay(c.id, Number(sel.value)); await home(h("div", { class: "card ok", role: "status" }, t("saved"))); }
      catch (e) { main.prepend(errorCard(e)); }
    } }, t("stayUntil")),
    reminderToggle(c),
  );
}

function reminderToggle(c) {
  const on = localStorage.getItem("quet.reminders") === "1";
  const box = h("input", { type: "checkbox", id: "reminder", checked: on, onchange: async () => {
    if (box.checked && "Notification" in window && Notification.permission === "default") await Notification.requestPermission();
    localStorage.setItem("quet.reminders", box.checked ? "1" : "0");
    scheduleReminder(c);
  } });
  scheduleReminder(c);
  return h("label", { class: "check", for: "reminder" }, box, h("span", {}, t("reminder")));
}

let reminderTimer;
function scheduleReminder(c) {
  clearTimeout(reminderTimer);
  if (localStorage.getItem("quet.reminders") !== "1" || !c.checked_in) return;
  // Ten minutes before the automatic check-out, while the app is open.
  const at = Math.max(c.departure - 600, now() + 1);
  reminderTimer = setTimeout(async () => {
    const text = tx("reminderText", { venue: c.venue_name });
    if ("Notification" in window && Notification.permission === "granted") {
      const reg = await navigator.serviceWorker?.getRegistration();
      if (reg) reg.showNotification("Quét", { body: text, tag: "quet-reminder" });
    }
    if (document.body.dataset.screen === "home") main.prepend(h("div", { class: "banner", role: "status" }, t("reminderText", { venue: c.venue_name })));
  }, (at - now()) * 1000);
}

// ----- scanning and check-in -----

async function scan() {
  const video = h("video", { playsinline: true, muted: true, "aria-label": tx("scan") });
  const status = h("p", { role: "status", id: "scan-status" }, t("scanHint"));
  screen("scan", h("h2", {}, t("scan")), h("div", { class: "scanbox" }, video), status,
    h("button", { onclick: () => home() }, t("cancel")));
  scanner = new Scanner();
  try {
    await scanner.start(video, (text) => checkIn(text, false));
    status.replaceChildren(t("scanning"));
  } catch (e) {
    status.replaceChildren(h("div", { class: "card bad", role: "alert" }, t(e.kind === "scanner_unavailable" ? "scannerUnavailable" : "cameraDenied")));
  }
}

/** Checks in from a scanned code or an opened link; pins this site's authority first if none is. */
async function checkIn(text, fromLink) {
  net.noteScan();
  const t0 = performance.now();
  let result;
  try {
    result = await core.checkIn(text);
  } catch (e) {
    const q = QuetError.from(e);
    if (q.kind === "unknown_authority" && !firstPin) {
      // First use: this page's server is the code's authority. Pin it, show its
      // fingerprint, check in. (This is the only request a first visit makes.)
      try {
        const s = await core.state();
        if (s.authorities.length === 0) {
          firstPin = await core.pinAuthority(await fetchDescriptor(location.origin));
          return checkIn(text, fromLink);
        }
      } catch (e2) { return screen("confirm", errorCard(e2)); }
    }
    const parts = [errorCard(q)];
    if (q.kind === "unknown_authority") parts.push(h("div", { class: "card" }, t("otherAuthority")));
    parts.push(h("button", { class: "primary", onclick: scan }, t("scan")), h("button", { onclick: () => home() }, t("back")));
    return screen("confirm", parts);
  }
  window.__quetLastCheckInMs = performance.now() - t0; // read by the measured test report
  const parts = [
    h("h2", {}, t("checkedInAt")),
    venueCard(result, "ok"),
    h("p", { class: "muted" }, t("savedOnPhone")),
  ];
  if (firstPin) {
    parts.push(h("div", { class: "card", id: "first-pin" },
      h("h3", {}, t("firstPinTitle")),
      h("div", { class: "venue" }, firstPin.name),
      h("div", { class: "muted" }, firstPin.base_url),
      h("p", {}, t("firstPinText")),
      h("dl", {}, h("dt", {}, t("fingerprint")), h("dd", { class: "mono", id: "fingerprint" }, firstPin.fingerprint)),
    ));
  }
  parts.push(h("button", { class: "primary", id: "done", onclick: () => home() }, t("done")));
  let s = null;
  try { s = await core.state(); } catch (_) { /* the check-in is stored; setup can wait */ }
  if (s && s.protection.unprotected) {
    // Setup comes after the check-in, never before it: the PIN locks the diary.
    parts.push(h("div", { class: "card warn", id: "pin-offer" }, h("p", {}, t("pinWhy")),
      h("button", { id: "set-pin", onclick: () => pinSetup(home) }, t("setPin"))));
  }
  if (firstPin) parts.push(h("button", { id: "setup", onclick: settings }, t("setupNow")));
  screen("confirm", parts);
}

// ----- diary -----

async function diary(notice) {
  let list, s;
  try { s = await core.state(); } catch (e) { return screen("diary", errorCard(e)); }
  if (locked(s)) return lockScreen("diary", s, () => diary(notice));
  try { list = await core.diary(); } catch (e) { return screen("diary", errorCard(e)); }
  const items = list.map((c) => h("li", { "data-id": c.id },
    h("div", { class: "venue" }, c.venue_name),
    h("div", {}, c.venue_address),
    h("div", { class: "muted" }, time(c.arrival), " – ", time(c.departure, false),
      c.checked_in ? [" ", h("span", { class: "badge ongoing" }, tx("ongoing"))] : null),
    h("button", { class: "small danger", onclick: async () => {
      if (!confirm(tx("confirmDelete"))) return;
      try { await core.deleteCheckIn(c.id); await diary(h("div", { class: "card ok", role: "status" }, t("deleted"))); }
      catch (e) { main.prepend(errorCard(e)); }
    } }, t("delete"), h("span", { class: "sr-only" }, c.venue_name)),
  ));
  screen("diary",
    h("h2", {}, t("diaryTitle")),
    notice,
    list.length ? h("ul", { class: "list", id: "diary-list" }, items) : h("p", { class: "muted" }, t("diaryEmpty")),
    h("p", { class: "muted" }, t("diaryKept", { days: s.retention_days })),
    list.length ? h("button", { class: "danger", id: "delete-all", onclick: async () => {
      if (!confirm(tx("confirmDeleteAll"))) return;
      try { await core.deleteAll(); await diary(h("div", { class: "card ok", role: "status" }, t("deleted"))); }
      catch (e) { main.prepend(errorCard(e)); }
    } }, t("deleteAll")) : null,
  );
}

// ----- alerts -----

async function alerts(notice) {
  let list, s;
  try { s = await core.state(); } catch (e) { return screen("alerts", errorCard(e)); }
  const isLocked = locked(s) && s.alerts.length > 0;
  if (!isLocked) {
    try { list = await core.alerts(); } catch (e) { return screen("alerts", errorCard(e)); }
  } else {
    list = s.alerts; // severity and when found only: "unlock to see where"
  }
  const last = Number(localStorage.getItem("quet.lastSync") || 0);
  const stale = s.feeds.filter((f) => f.stale_since).map((f) => f.stale_since);
  const lockedItem = (a) => h("li", { class: "alert locked", "data-notice": a.notice },
    h("span", { class: "badge " + a.severity }, bi(a.severity_vi, a.severity_en)),
    h("p", {}, t("exposedLocked")),
    h("p", { class: "muted" }, t("foundAt"), " ", time(a.found_at)));
  const items = isLocked ? list.map(lockedItem) : list.map((a) => h("li", { class: "alert", "data-notice": a.notice },
    h("span", { class: "badge " + a.severity }, bi(a.severity_vi, a.severity_en)),
    h("dl", {},
      h("dt", {}, t("where")), h("dd", { class: "venue" }, a.venue_name), h("dd", {}, a.venue_address),
      h("dt", {}, t("when")), h("dd", {}, time(a.window_start), " – ", time(a.window_end, false)),
      h("dt", {}, t("yourVisit")), h("dd", {}, time(a.arrival), " – ", time(a.departure, false)),
      h("dt", {}, t("message")), h("dd", { class: "message" }, bi(a.message_vi, a.message_en)),
    ),
  ));
  const status = h("p", { role: "status", id: "sync-status" });
  screen("alerts",
    h("h2", {}, t("alertsTitle")),
    notice,
    list.length ? h("ul", { class: "list", id: isLocked ? "alert-summaries" : "alert-list" }, items) : h("p", { class: "muted", id: "no-alerts" }, t("noAlerts")),
    isLocked ? h("button", { class: "primary", id: "unlock-alerts", onclick: () => lockScreen("alerts", s, () => alerts()) }, t("unlockToSee")) : null,
    stale.length ? h("div", { class: "banner", id: "out-of-date" }, t("outOfDate", { time: time(Math.max(...stale)) })) : null,
    h("p", { class: "muted" }, t("lastChecked"), ": ", last ? time(last) : tx("never")),
    h("button", { class: "primary", id: "sync", onclick: async () => {
      status.replaceChildren(t("syncing"));
      try { await net.syncNow(); await alerts(h("div", { class: "card ok", role: "status", id: "synced" }, t("syncDone"))); }
      catch (e) { status.replaceChildren(errorCard(e)); }
    } }, t("syncNow")),
    status,
    h("p", { class: "muted" }, t("syncPrivacy")),
  );
}

// ----- more: report, authorities, settings -----

function more() {
  screen("more", h("h2", {}, t("moreTitle")),
    h("button", { id: "go-report", onclick: report }, t("report")),
    h("button", { id: "go-authorities", onclick: authorities }, t("authorities")),
    h("button", { id: "go-settings", onclick: settings }, t("settings")),
    h("div", { class: "card" }, h("h3", {}, t("privacy")), h("p", {}, t("privacyText"))),
    h("p", { class: "muted" }, t("version"), ": ", document.body.dataset.version),
  );
}

async function report() {
  let s;
  try { s = await core.state(); } catch (e) { return screen("report", errorCard(e)); }
  if (locked(s)) return lockScreen("report", s, report);
  const input = h("input", { id: "auth-code", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", inputmode: "text" });
  const out = h("div", { id: "report-out", "aria-live": "polite" });
  const go = async () => {
    out.replaceChildren(t("syncing"));
    let plan;
    try { plan = await core.reportPreview(input.value); } catch (e) { return out.replaceChildren(errorCard(e)); }
    const s = await core.state();
    const authority = s.authorities.find((a) => a.id === plan.authority);
    if (plan.check_ins.length === 0) return out.replaceChildren(h("div", { class: "card warn" }, t("noReportable")));
    const consent = h("input", { type: "checkbox", id: "consent" });
    const send = h("button", { class: "primary", id: "send", disabled: true, onclick: async () => {
      send.disabled = true;
      try {
        const r = await core.reportSubmit();
        out.replaceChildren(h("div", { class: "card ok", role: "status", id: "receipt" },
          h("p", {}, t("sent")), h("dl", {}, h("dt", {}, t("receipt")), h("dd", { class: "mono" }, r.receipt))));
      } catch (e) { out.replaceChildren(errorCard(e)); }
    } }, t("send"));
    consent.addEventListener("change", () => { send.disabled = !consent.checked; });
    out.replaceChildren(
      h("div", { class: "card", id: "preview" },
        h("p", {}, t("willSend", { authority: authority ? authority.name : plan.authority, n: plan.check_ins.length, pad: 100 - plan.check_ins.length })),
        h("p", { class: "muted" }, t("since"), " ", time(plan.report_since)),
        h("ul", { class: "list" }, plan.check_ins.map((c) => h("li", {},
          h("div", { class: "venue" }, c.venue_name), h("div", {}, c.venue_address),
          h("div", { class: "muted" }, time(c.arrival), " – ", time(c.departure, false))))),
      ),
      h("label", { class: "check", for: "consent" }, consent, h("span", {}, t("consent"))),
      send,
    );
  };
  screen("report", h("h2", {}, t("report")), h("p", {}, t("reportIntro")),
    h("label", { for: "auth-code" }, t("authCode")), input,
    h("button", { class: "primary", id: "preview-button", onclick: go }, t("preview")), out,
    h("button", { onclick: more }, t("back")));
}

async function authorities(notice) {
  let s;
  try { s = await core.state(); } catch (e) { return screen("authorities", errorCard(e)); }
  const url = h("input", { id: "authority-url", type: "url", placeholder: "https://", autocomplete: "off" });
  const out = h("div", { "aria-live": "polite" });
  screen("authorities", h("h2", {}, t("authorities")), notice,
    h("ul", { class: "list" }, s.authorities.map((a) => h("li", { "data-authority": a.id },
      h("div", { class: "venue" }, a.name), h("div", { class: "muted" }, a.base_url),
      h("dl", {}, h("dt", {}, t("fingerprint")), h("dd", { class: "mono" }, a.fingerprint)),
      h("button", { class: "small", onclick: async () => {
        try { await core.pinAuthority(await fetchDescriptor(a.base_url)); await authorities(h("div", { class: "card ok", role: "status" }, t("updated"))); }
        catch (e) { out.replaceChildren(errorCard(e)); }
      } }, t("update")), " ",
      h("button", { class: "small danger", onclick: async () => {
        if (!confirm(`${tx("remove")} ${a.name}?`)) return;
        try { await core.removeAuthority(a.id); await authorities(); } catch (e) { out.replaceChildren(errorCard(e)); }
      } }, t("remove")),
    ))),
    h("label", { for: "authority-url" }, t("addAuthority")), url,
    h("button", { onclick: async () => {
      try {
        const bytes = await fetchDescriptor(url.value.trim());
        const d = Core.inspectDescriptor(bytes);
        if (!confirm(tx("confirmAdd", { name: d.name, fp: d.fingerprint }))) return;
        await core.pinAuthority(bytes);
        await authorities(h("div", { class: "card ok", role: "status" }, t("saved")));
      } catch (e) { out.replaceChildren(errorCard(e)); }
    } }, t("add")),
    out,
    h("button", { onclick: more }, t("back")));
}

async function settings(notice) {
  let s;
  try { s = await core.state(); } catch (e) { return screen("settings", errorCard(e)); }
  const langSel = h("select", { id: "language" },
    [["both", "langBoth"], ["vi", "langVi"], ["en", "langEn"]].map(([v, k]) => h("option", { value: v, selected: lang() === v }, tx(k))));
  const days = h("input", { id: "retention", type: "number", min: 10, max: 21, step: 1, value: s.retention_days });
  const out = h("div", { "aria-live": "polite" });
  screen("settings", h("h2", {}, t("settings")), notice,
    h("label", { for: "language" }, t("language")), langSel,
    h("label", { for: "retention" }, t("retention")), days,
    h("h3", {}, t("lockTitle")),
    h("p", { class: "muted", id: "protection" }, s.protection.passphrase ? t("pinIsSet") : t("pinNotSet"),
      s.protection.prf ? [" ", t("passkeyIsSet")] : null),
    h("button", { id: "change-pin", onclick: () => (locked(s) ? lockScreen("settings", s, () => pinSetup(settings)) : pinSetup(settings)) },
      s.protection.passphrase ? t("changePin") : t("setPin")),
    passkeySupported() && s.protection.passphrase && !s.protection.prf
      ? h("button", { id: "add-passkey", onclick: async () => {
        try {
          if (locked(await core.state())) return lockScreen("settings", s, () => settings());
          await addPasskey(); await settings(h("div", { class: "card ok", role: "status" }, t("passkeyAdded")));
        } catch (e) { out.replaceChildren(errorCard(e)); }
      } }, t("addPasskey")) : null,
    h("button", { class: "primary", id: "save-settings", onclick: async () => {
      try {
        localStorage.setItem("quet.lang", langSel.value);
        setLang(langSel.value);
        await core.setRetention(Number(days.value));
        renderTabs();
        await settings(h("div", { class: "card ok", role: "status" }, t("saved")));
      } catch (e) { out.replaceChildren(errorCard(e)); }
    } }, t("save")),
    out,
    h("button", { onclick: () => home() }, t("back")));
}

// ----- the diary lock -----
// The diary and alert details are sealed to a key the core unlocks with the PIN
// (Argon2id) or a passkey's WebAuthn PRF output; this only asks for them.

/** Whether the diary needs unlocking now (a PIN or passkey is set, not unlocked). */
function locked(s) {
  return (s.protection.passphrase || s.protection.prf) && !s.protection.unlocked;
}

const PRF_SALT = new TextEncoder().encode("quet/v1/web/prf-salt");
const PASSKEY_ID = "quet.passkey"; // the credential's id (public; no secret)
const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)));
const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const random = (n) => crypto.getRandomValues(new Uint8Array(n));

function passkeySupported() {
  return typeof PublicKeyCredential !== "undefined" && !!navigator.credentials && window.isSecureContext;
}

function noPasskey() {
  return new QuetError("passkey", "Thiết bị này không hỗ trợ mở khóa bằng passkey (PRF). Hãy dùng mã PIN.",
    "This device cannot unlock with a passkey (PRF). Use the PIN.");
}

/** The PRF output of the stored passkey (asks the platform authenticator). */
async function passkeyOutput() {
  const id = localStorage.getItem(PASSKEY_ID);
  if (!id) throw noPasskey();
  const a = await navigator.credentials.get({ publicKey: {
    challenge: random(32), allowCredentials: [{ type: "public-key", id: unb64(id) }],
    userVerification: "required", timeout: 60000,
    extensions: { prf: { eval: { first: PRF_SALT } } },
  } });
  const out = a && a.getClientExtensionResults().prf?.results?.first;
  if (!out) throw noPasskey();
  return new Uint8Array(out);
}

/** Creates a platform passkey with PRF and adds its slot (needs the diary unlocked). */
async function addPasskey() {
  const cred = await navigator.credentials.create({ publicKey: {
    rp: { name: "Quét" }, user: { id: random(16), name: "quet", displayName: "Quét" },
    challenge: random(32), pubKeyCredParams: [{ type: "public-key", alg: -7 }, { type: "public-key", alg: -257 }],
    authenticatorSelection: { authenticatorAttachment: "platform", residentKey: "discouraged", userVerification: "required" },
    timeout: 60000, extensions: { prf: { eval: { first: PRF_SALT } } },
  } });
  const ext = cred.getClientExtensionResults().prf;
  if (!ext || ext.enabled === false) throw noPasskey();
  localStorage.setItem(PASSKEY_ID, b64(cred.rawId));
  const out = ext.results?.first ? new Uint8Array(ext.results.first) : await passkeyOutput();
  await core.setPrf(out);
}

/** Asks for the PIN (or the passkey), then runs `next`. */
function lockScreen(name, s, next) {
  const pin = h("input", { id: "unlock-pin", type: "password", inputmode: "numeric", autocomplete: "off" });
  const out = h("div", { id: "unlock-out", "aria-live": "polite" });
  const fail = (e) => {
    const q = QuetError.from(e);
    out.replaceChildren(errorCard(q));
    if (q.retryAt) {
      btn.disabled = true;
      setTimeout(() => { btn.disabled = false; }, Math.max(0, q.retryAt - now()) * 1000);
    }
  };
  const btn = h("button", { class: "primary", id: "unlock", onclick: async () => {
    try { await core.unlockWithPin(pin.value); pin.value = ""; armIdleLock(); await next(); } catch (e) { pin.value = ""; fail(e); }
  } }, t("unlock"));
  pin.addEventListener("keydown", (ev) => { if (ev.key === "Enter") btn.click(); });
  const passkey = s.protection.prf && passkeySupported() && localStorage.getItem(PASSKEY_ID)
    ? h("button", { id: "unlock-passkey", onclick: async () => {
      try { await core.unlockWithPrf(await passkeyOutput()); armIdleLock(); await next(); } catch (e) { fail(e); }
    } }, t("unlockPasskey")) : null;
  screen(name, h("h2", {}, t("lockTitle")), h("p", {}, t("lockText")),
    s.unlock_retry_at ? h("div", { class: "card warn" }, t("retryAt", { time: time(s.unlock_retry_at) })) : null,
    h("label", { for: "unlock-pin" }, t("pin")), pin, btn, passkey, out,
    h("button", { onclick: () => home() }, t("back")));
  document.body.dataset.locked = "1";
}

/** Chooses the PIN (after the first check-in, or to change it), then `next`. */
function pinSetup(next) {
  const a = h("input", { id: "new-pin", type: "password", inputmode: "numeric", autocomplete: "new-password", minlength: 4 });
  const b = h("input", { id: "new-pin-again", type: "password", inputmode: "numeric", autocomplete: "new-password", minlength: 4 });
  const out = h("div", { id: "pin-out", "aria-live": "polite" });
  screen("pin", h("h2", {}, t("setPin")), h("p", {}, t("pinWhy")),
    h("label", { for: "new-pin" }, t("pin")), a,
    h("label", { for: "new-pin-again" }, t("pinAgain")), b,
    h("button", { class: "primary", id: "save-pin", onclick: async () => {
      if (a.value !== b.value) return out.replaceChildren(errorCard(new QuetError("pin_mismatch", ...T.pinMismatch)));
      try {
        await core.setPin(a.value);
        a.value = ""; b.value = "";
        armIdleLock();
        await next(h("div", { class: "card ok", role: "status", id: "pin-saved" }, t("pinSaved")));
      } catch (e) { out.replaceChildren(errorCard(e)); }
    } }, t("save")),
    out,
    h("button", { onclick: () => home() }, t("back")));
}

// Lock again when the app is hidden or left idle: the diary secret is forgotten.
const IDLE_LOCK_MS = 2 * 60 * 1000;
let idleTimer;
function relock() {
  if (!core) return;
  core.lock();
  if (["diary", "alerts", "report"].includes(document.body.dataset.screen)) home();
}
function armIdleLock() {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(relock, IDLE_LOCK_MS);
}
document.addEventListener("visibilitychange", () => { if (document.hidden) relock(); });
for (const ev of ["pointerdown", "keydown"]) document.addEventListener(ev, armIdleLock, { passive: true });

// ----- frame -----

function renderTabs() {
  const tab = (id, key, fn) => h("button", { "data-tab": id, onclick: () => fn() }, t(key));
  tabs.replaceChildren(tab("home", "tabHome", home), tab("diary", "tabDiary", diary),
    tab("alerts", "tabAlerts", alerts), tab("more", "tabMore", more));
  tabs.hidden = false;
}

/** The code in the address (`/C#<code>`), taken out of it at once. */
function takeLinkCode() {
  if (!location.hash || location.hash.length < 20) return null;
  const text = location.href;
  history.replaceState(null, "", location.pathname.toLowerCase() === "/c" ? "/" : location.pathname);
  return text;
}

async function start() {
  setLang(localStorage.getItem("quet.lang") || "both");
  document.documentElement.lang = lang() === "en" ? "en" : "vi";
  const link = takeLinkCode();
  try {
    core = await Core.open();
  } catch (e) {
    screen("error", errorCard(e));
    return;
  }
  net = new Network(core);
  renderTabs();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/", type: "module" })
      .then((reg) => net.registerPeriodic(reg))
      .catch(() => { /* still works online without it */ });
  }
  window.addEventListener("hashchange", () => { const l = takeLinkCode(); if (l) checkIn(l, true); });
  if (link) await checkIn(link, true);
  else await home();
  net.scheduleOnOpen();
  net.scheduleChaff();
  window.__quet = { core, net }; // for the test suite's measured report
}

start();
