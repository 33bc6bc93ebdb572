// When the app talks to the network, so that what a network observer sees says as
// little as possible (spec/threat-model.md, "An observer of the network"):
// - scanning and checking in make no request at all;
// - bulletins are fetched at randomised times: by Periodic Background Sync where
//   the browser offers it, otherwise a random 30–150 s after the app is opened,
//   and never within 10 minutes of a scan, so a download does not follow a visit;
// - the user's "Check now" is the only immediate sync.
const SCAN_QUIET_SECS = 600;
const MIN_INTERVAL_SECS = 3 * 3600;
const now = () => Math.floor(Date.now() / 1000);

export class Network {
  constructor(core) {
    this.core = core;
    this.lastScan = Number(sessionStorage.getItem("quet.lastScan") || 0);
    this.timer = null;
  }

  noteScan() {
    this.lastScan = now();
    sessionStorage.setItem("quet.lastScan", String(this.lastScan));
    if (this.timer) { clearTimeout(this.timer); this.timer = null; this.scheduleOnOpen(); }
  }

  /** The delay before a background sync, or null when none is due. */
  delay() {
    const last = Number(localStorage.getItem("quet.lastSync") || 0);
    if (now() - last < MIN_INTERVAL_SECS) return null;
    const random = 30 + Math.floor(crypto.getRandomValues(new Uint32Array(1))[0] % 121);
    const quietUntil = this.lastScan + SCAN_QUIET_SECS;
    return Math.max(random, quietUntil - now() + random);
  }

  scheduleOnOpen() {
    const d = this.delay();
    if (d === null || this.timer) return;
    this.timer = setTimeout(() => { this.timer = null; this.syncNow().catch(() => {}); }, d * 1000);
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
