// Quét console: the only script. Print buttons (the authorization-code slip).
"use strict";
for (const b of document.querySelectorAll("[data-print]")) {
  b.addEventListener("click", () => window.print());
}
