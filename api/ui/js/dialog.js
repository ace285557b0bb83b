// Modal dialogs on the native <dialog> element: focus trap, Esc and the backdrop for free.
import { h, icons } from "./dom.js";

let counter = 0;

/**
 * Open a modal dialog; it is removed from the page when closed.
 * @param {string} title
 * @param {(body: HTMLElement, close: () => void) => void} build fills the body
 * @param {{id?: string, onClose?: () => void}} [options]
 * @returns {HTMLDialogElement}
 */
export function openDialog(title, build, options = {}) {
  counter += 1;
  const titleId = `dialog-title-${counter}`;
  const dialog = /** @type {HTMLDialogElement} */ (h("dialog", {
    class: "dialog", "aria-labelledby": titleId, id: options.id,
  }));
  const close = () => dialog.close();
  const body = h("div", { class: "dialog-body" });
  dialog.append(
    h("header", { class: "dialog-head" },
      h("h2", { id: titleId, text: title }),
      h("button", { type: "button", class: "icon-button", "aria-label": "Close", html: icons.close,
        onclick: close })),
    body);
  dialog.addEventListener("close", () => {
    dialog.remove();
    options.onClose?.();
  });
  // A click on the backdrop (the dialog element itself, outside its box) closes it.
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) close();
  });
  build(body, close);
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/**
 * A labelled form field.
 * @param {string} label
 * @param {HTMLElement} control (given an id if it has none)
 */
export function field(label, control) {
  counter += 1;
  if (!control.id) control.id = `field-${counter}`;
  return h("div", { class: "field" }, h("label", { for: control.id, text: label }), control);
}

/** @param {unknown} error */
export function message(error) {
  return error instanceof Error ? error.message : String(error);
}
