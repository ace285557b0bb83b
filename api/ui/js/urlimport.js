// "Import from URL": the server fetches a public http(s) file and runs the upload pipeline
// (POST /v1/assets/from-url). The button is hidden where the server lacks the route.
import { api } from "./api.js";
import { field, message, openDialog } from "./dialog.js";
import { h } from "./dom.js";
import { toast } from "./toast.js";

/** @param {() => void} imported called after a successful import */
export function openUrlImport(imported) {
  openDialog("Import from URL", (body, close) => {
    const url = /** @type {HTMLInputElement} */ (h("input", { type: "url", required: true, autocomplete: "off",
      placeholder: "https://…", spellcheck: "false" }));
    const name = /** @type {HTMLInputElement} */ (h("input", { type: "text", maxlength: "255", autocomplete: "off" }));
    const tags = /** @type {HTMLInputElement} */ (h("input", { type: "text", autocomplete: "off", placeholder: "comma, separated" }));
    const error = h("p", { class: "error", role: "alert", hidden: true });
    const submit = /** @type {HTMLButtonElement} */ (h("button", { type: "submit", class: "primary", text: "Import" }));
    body.append(h("form", { class: "stack", onsubmit: async (event) => {
      event.preventDefault();
      submit.disabled = true;
      submit.textContent = "Importing…";
      try {
        const asset = await api("POST", "/v1/assets/from-url?wait=true", { json: {
          url: url.value.trim(), name: name.value.trim() || null,
          tags: tags.value.split(",").map((t) => t.trim()).filter(Boolean) } });
        close();
        toast(`Imported ${asset.name}`);
        imported();
      } catch (err) {
        error.hidden = false;
        error.textContent = message(err);
        submit.disabled = false;
        submit.textContent = "Import";
      }
    } }, field("URL", url), field("Name (optional)", name), field("Tags (optional)", tags), error,
    h("p", { class: "muted small", text: "The server downloads the file itself; only public http(s) addresses are allowed." }),
    h("div", { class: "actions" }, submit)));
    url.focus();
  });
}
