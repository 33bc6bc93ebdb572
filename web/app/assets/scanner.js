// The in-app scanner: camera frames (getUserMedia) drawn to a canvas, their pixels
// handed to the core's QR decoder in wasm. Scanning makes no network request, and
// the code never enters the browser's history (unlike opening the link).
export class Scanner {
  constructor(decode) {
    this.decode = decode;
    this.stream = null;
    this.timer = null;
    this.canvas = document.createElement("canvas");
  }

  async start(video, onText) {
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
    video.srcObject = this.stream;
    await video.play();
    const ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    const tick = () => {
      if (!this.stream) return;
      const vw = video.videoWidth, vh = video.videoHeight;
      if (vw && vh) {
        // At most 800 px wide: enough modules per pixel for a screen-sized code.
        const scale = Math.min(1, 800 / vw);
        const w = Math.round(vw * scale), h = Math.round(vh * scale);
        this.canvas.width = w; this.canvas.height = h;
        ctx.drawImage(video, 0, 0, w, h);
        const text = this.decode(w, h, ctx.getImageData(0, 0, w, h).data);
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
