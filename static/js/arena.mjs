// Site-wide behaviour, loaded on every page. Small in-house modules only.
import { startCountdowns } from "./countdown.mjs";

startCountdowns();

// The new API key page: one click selects the whole key for copying.
for (const box of document.querySelectorAll("[data-select-on-focus]")) {
  box.addEventListener("focus", () => box.select());
}
