// Quét phone web app: screens and navigation. Every rule (what a valid code is,
// check-in, check-out, retention, chain verification, matching, reports) is the
// client core's, in wasm (core.js); this file only shows its results and passes
// the user's choices to it.
import { Core, QuetError, fetchDescriptor, now } from "./core.js";
import { t, tx, bi, setLang, lang, time } from "./i18n.js";
import { Scanner } from "./scanner.js";
import { Network } from "./network.js";

const main = document.getElementById("main");
const tabs = document.getElementById("tabs");
let core;
let net;
let scanner;
let firstPin = null; // the authority pinned by this visit's first check-in

/** Builds an element: h("button", {class: "primary", onclick}, child…). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function screen(name, ...children) {
  if (scanner && name !== "scan") { scanner.stop(); scanner = null; }
  document.body.dataset.screen = name;
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
  if (s.alerts > 0) {
    parts.push(h("button", { class: "danger", onclick: alerts }, t("tabAlerts"), ` (${s.alerts})`));
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
  scanner = new Scanner(Core.decodeFrame);
  try {
    await scanner.start(video, (text) => checkIn(text, false));
    status.replaceChildren(t("scanning"));
  } catch (e) {
    status.replaceChildren(h("div", { class: "card bad", role: "alert" }, t("cameraDenied")));
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
  if (firstPin) parts.push(h("button", { id: "setup", onclick: settings }, t("setupNow")));
  screen("confirm", parts);
}

// ----- diary -----

async function diary(notice) {
  let list, s;
  try { list = await core.diary(); s = await core.state(); } catch (e) { return screen("diary", errorCard(e)); }
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
  let list;
  try { list = await core.alerts(); } catch (e) { return screen("alerts", errorCard(e)); }
  const last = Number(localStorage.getItem("quet.lastSync") || 0);
  const items = list.map((a) => h("li", { class: "alert", "data-notice": a.notice },
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
    list.length ? h("ul", { class: "list", id: "alert-list" }, items) : h("p", { class: "muted", id: "no-alerts" }, t("noAlerts")),
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

function report() {
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
  window.__quet = { core, net }; // for the test suite's measured report
}

start();
