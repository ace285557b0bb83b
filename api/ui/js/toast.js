// A short status message at the bottom of the page (announced to screen readers).

let timer = 0;

/**
 * @param {string} message
 * @param {{error?: boolean}} [options]
 */
export function toast(message, options = {}) {
  const el = document.getElementById("toast");
  if (!el) return;
  el.textContent = message;
  el.classList.toggle("error", Boolean(options.error));
  el.hidden = false;
  window.clearTimeout(timer);
  timer = window.setTimeout(() => { el.hidden = true; }, options.error ? 8000 : 3000);
}
