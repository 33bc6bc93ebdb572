// When the app talks to the network, so that what a network observer sees says as
// little as possible (spec/threat-model.md, "An observer of the network"):
// - scanning and checking in make no request at all;
// - bulletins are fetched at randomised times: by Periodic Background Sync where
//   the browser offers it, otherwise a random 30–150 s after the app is opened,
//   and never within 10 minutes of a scan, so a download does not follow a visit;
// - the user's "Check now" is the only immediate sync;
// - chaff: the core keeps a schedule of dummy report pairs (a preview, then an
//   upload one drawn "consent" gap later) and builds their requests with the same
//   endpoints and byte lengths as a real report's; they go through the same
//   fetch as a real report (core.drive). Only while the app is open (a person
//   reports only then), a preview never within 10 minutes of a scan, and a
//   random 30–150 s after it became due or the app was opened.
const SCAN_QUIET_SECS = 600;
const MIN_INTERVAL_SECS = 3 * 3600;
const CHAFF_RECHECK_SECS = 15 * 60; // a timer never waits longer: the clock may jump
const now = () => Math.floor(Date.now() / 1000);

export class Network {
  constructor(core) {
    this.core = core;
    this.lastScan = Number(sessionStorage.getItem("quet.lastScan") || 0);
    this.timer = null;
    this.chaffTimer = null;
  }

  noteScan() {
    this.lastScan = now();
    sessionStorage.setItem("quet.lastScan", String(this.lastScan));
    if (this.timer) { clearTimeout(this.timer); this.timer = null; this.scheduleOnOpen(); }
    if (this.chaffTimer) this.scheduleChaff();
  }

  /** A random 30–150 s, pushed past the quiet time after a scan. */
  randomDelay() {
    const random = 30 + Math.floor(crypto.getRandomValues(new Uint32Array(1))[0] % 121);
    const quietUntil = this.lastScan + SCAN_QUIET_SECS;
    return Math.max(random, quietUntil - now() + random);
  }

  /** The delay before a background sync, or null when none is due. */
  delay() {
    const last = Number(localStorage.getItem("quet.lastSync") || 0);
    if (now() - last < MIN_INTERVAL_SECS) return null;
    return this.randomDelay();
  }

  scheduleOnOpen() {
    const d = this.delay();
    if (d === null || this.timer) return;
    this.timer = setTimeout(() => { this.timer = null; this.syncNow().catch(() => {}); }, d * 1000);
  }

  /** Sets the timer for the next chaff request (the core says when it is due). */
  async scheduleChaff() {
    clearTimeout(this.chaffTimer);
    this.chaffTimer = null;
    let due;
    try { due = await this.core.chaffDue(); } catch (_) { return; }
    let wait = Math.max(0, due.at - now());
    if (due.step === "preview") wait += this.randomDelay();
    const recheck = wait > CHAFF_RECHECK_SECS;
    this.chaffTimer = setTimeout(async () => {
      this.chaffTimer = null;
      if (!recheck) await this.chaffTick().catch(() => {});
      this.scheduleChaff();
    }, Math.min(wait, CHAFF_RECHECK_SECS) * 1000);
  }

  /** Sends the chaff request due now, if any; resolves to when the next is due. */
  chaffTick() {
    return this.core.chaff();
  }

  async syncNow() {
    const report = await this.core.sync();
    localStorage.setItem("quet.lastSync", String(now()));
    return report;
  }

  async registerPeriodic(reg) {
    if (!reg || !("periodicSync" in reg)) return;
    try {
      const status = await navigator.permissions.query({ name: "periodic-background-sync" });
      if (status.state === "granted") {
        await reg.periodicSync.register("quet-sync", { minInterval: 6 * 3600 * 1000 });
      }
    } catch (_) { /* not offered: syncs happen when the app is opened */ }
  }
}
