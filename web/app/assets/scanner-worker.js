// The scanner's worker: runs the QR decoder (quet_scanner wasm, rxing) off the
// page's thread. scanner.js starts it when the camera opens and drops it (and the
// wasm instance with it) after a trap or a frame that takes too long.
import init, { decodeFrame, trapForTests } from "./quet_scanner.js";

let trapped = false;

self.onmessage = (e) => {
  const { id, width, height, rgba, trap } = e.data;
  if (trapped) {
    // An instance that trapped may hold broken state: answer nothing more from it.
    self.postMessage({ id, trapped: true });
    return;
  }
  try {
    const text = trap ? trapForTests() : decodeFrame(width, height, rgba);
    self.postMessage({ id, text: text || null });
  } catch (err) {
    trapped = err instanceof WebAssembly.RuntimeError;
    self.postMessage({ id, text: null, trapped, error: String(err) });
  }
};

init().then(
  () => self.postMessage({ ready: true }),
  (err) => self.postMessage({ ready: false, error: String(err) }),
);
