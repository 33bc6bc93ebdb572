// Quét service worker. The app shell and every versioned asset are cached at
// install and served from the cache first, so opening the app or a venue's link
// (/C#…) make no request once the app is installed. The in-app scanner's decoder
// (quet_scanner, ~250 KB gzip) is not pre-cached, to keep the first load small:
// it is fetched when the camera first opens and cached then, so later scans make
// no request either, offline too. Nothing else is intercepted: API requests go
// to the network as they are.
import { Core } from "__ASSETS__/core.js";

const VERSION = "__VERSION__";
const CACHE = "quet-app-" + VERSION;
const ASSETS = "__ASSET_LIST__";
const SHELL = "/index.html";
const SHELL_PATHS = new Set(["/", "/C", "/c", "/index.html"]);
const DISPLAY = "/display"; // the venue display page, offline too
// Versioned assets fetched only when needed, and cached on that first fetch.
const ON_DEMAND = /\/(quet_scanner[^/]*|scanner-worker\.js)$/;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // The venue display's wasm is not the phone's business: the display page
    // caches its own files when it first opens (display.js). The scanner's files
    // are cached when the camera first opens (below).
    const phone = ASSETS.filter((a) => !a.includes("/quet_display") && !ON_DEMAND.test(a));
    await cache.addAll([SHELL, DISPLAY, "/manifest.webmanifest", ...phone]);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("quet-app-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || event.request.method !== "GET") return;
  let key = null;
  if (event.request.mode === "navigate" && SHELL_PATHS.has(url.pathname)) key = SHELL;
  else if (event.request.mode === "navigate" && url.pathname === DISPLAY) key = DISPLAY;
  else if (url.pathname.startsWith("/a/" + VERSION + "/") || url.pathname === "/manifest.webmanifest") key = url.pathname;
  if (!key) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(key);
    if (hit) return hit;
    const response = await fetch(event.request);
    if (response.ok && ON_DEMAND.test(key)) await cache.put(key, response.clone());
    return response;
  })());
});

// Periodic Background Sync (an installed app, where the browser grants it): the
// same sync as the page's, run by the same core.
self.addEventListener("periodicsync", (event) => {
  if (event.tag !== "quet-sync") return;
  event.waitUntil((async () => {
    const core = await Core.open();
    await core.sync();
  })());
});
