// A short status message at the bottom of the page (announced to screen readers), with
// at most one action (e.g. Undo) beside it.
import { h } from "./dom.js";

let timer = 0;

/**
 * @param {string} message
 * @param {{error?: boolean, action?: {label: string, run: () => void}}} [options]
 */
export function toast(message, options = {}) {
  const el = document.getElementById("toast");
  if (!el) return;
  el.textContent = message;
  const action = options.action;
  if (action) {
    el.append(" ", h("button", { type: "button", class: "link toast-action", text: action.label,
      onclick: () => { el.hidden = true; action.run(); } }));
  }
  el.classList.toggle("error", Boolean(options.error));
  el.hidden = false;
  window.clearTimeout(timer);
  // An action needs time to reach (a pointer's trip, a keyboard user's Tab).
  timer = window.setTimeout(() => { el.hidden = true; }, options.error || action ? 8000 : 3000);
}
