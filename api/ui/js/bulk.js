// Bulk actions on the selection: tag, move to a folder, favourite, delete (POST /v1/assets/bulk).
import { api, ApiError } from "./api.js";
import { clear, h } from "./dom.js";
import { folderNames } from "./facets.js";
import { toast } from "./toast.js";

/**
 * Render the action bar for the selected ids (hidden when nothing is selected).
 * @param {HTMLElement} bar
 * @param {string[]} ids
 * @param {{clear: () => void, done: () => void}} callbacks
 */
export function renderBulkBar(bar, ids, callbacks) {
  clear(bar);
  bar.hidden = ids.length === 0;
  if (!ids.length) return;
  const run = async (body, label) => {
    try {
      const result = await api("POST", "/v1/assets/bulk", { json: { ...body, ids } });
      const failed = result.failed.length;
      toast(`${label}: ${result.succeeded.length} done${failed ? `, ${failed} failed (${result.failed[0].detail || result.failed[0].title})` : ""}`,
        { error: failed > 0 });
      callbacks.done();
    } catch (error) {
      const missing = error instanceof ApiError && (error.status === 404 || error.status === 405);
      toast(missing ? "Bulk actions are not available on this server" :
        `${label} failed: ${error instanceof ApiError ? error.message : error}`, { error: true });
    }
  };
  const tagInput = h("input", { id: "bulk-tag", type: "text", placeholder: "tag", autocomplete: "off" });
  const folder = h("select", { id: "bulk-folder", "aria-label": "Move to folder" },
    h("option", { value: "", text: "Move to…" }),
    h("option", { value: "__root__", text: "No folder" }),
    ...[...folderNames].map(([id, name]) => h("option", { value: id, text: name })));
  folder.addEventListener("change", () => {
    if (!folder.value) return;
    run({ action: "move", folder_id: folder.value === "__root__" ? null : folder.value }, "Move");
  });
  bar.append(
    h("span", { class: "count", text: `${ids.length} selected` }),
    h("form", { class: "inline-form", onsubmit: (event) => {
      event.preventDefault();
      const tags = tagInput.value.split(",").map((t) => t.trim()).filter(Boolean);
      if (tags.length) run({ action: "tag", tags }, "Tag");
    } },
    h("label", { for: "bulk-tag", class: "visually-hidden", text: "Tag to add" }), tagInput,
    h("button", { type: "submit", class: "button", text: "Tag" })),
    folderNames.size ? folder : null,
    h("button", { type: "button", class: "button", text: "Favourite",
      onclick: () => run({ action: "favorite" }, "Favourite") }),
    h("button", { type: "button", class: "button danger", text: "Delete",
      onclick: () => run({ action: "delete" }, "Delete") }),
    h("button", { type: "button", class: "button ghost", text: "Clear selection",
      onclick: () => callbacks.clear() }));
}
