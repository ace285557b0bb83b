// Bulk actions on the selection: tag, move to a folder, favourite, delete (POST
// /v1/assets/bulk); add to a collection; in a collection, remove from it.
import { api, ApiError } from "./api.js";
import { addToCollection, createCollection, ownCollections, removeFromCollection } from "./collections.js";
import { append, clear, h } from "./dom.js";
import { folderNames } from "./facets.js";
import { toast } from "./toast.js";

/** The most ids one `POST /v1/assets/bulk` takes. */
export const BULK_MAX_IDS = 1000;

/**
 * Render the action bar for the selected ids (hidden when nothing is selected).
 * @param {HTMLElement} bar
 * @param {string[]} ids
 * @param {{clear: () => void, done: () => void, moveToStart?: (() => void) | null,
 *          more?: {total: number, select: () => void} | null}} callbacks
 *   `moveToStart`: given while the collection shows in its own order and may be reordered
 *   (the keyboard's way to reorder; dragging is the pointer's); `more`: given when every
 *   loaded tile is selected and more match (`select` loads and selects them)
 * @param {any|null} collection the collection shown, if any
 * @param {boolean} writable whether the key may change assets (no write scope: no actions)
 */
export function renderBulkBar(bar, ids, callbacks, collection = null, writable = true) {
  clear(bar);
  bar.hidden = ids.length === 0;
  if (!ids.length) return;
  /** @param {any} body @param {string} label @param {((ids: string[]) => void)|null} [undo] */
  const run = async (body, label, undo = null) => {
    try {
      const result = await bulk({ ...body, ids });
      const failed = result.failed.length;
      const done = result.succeeded;
      toast(`${label}: ${done.length} done${failed ? `, ${failed} failed (${result.failed[0].detail || result.failed[0].title})` : ""}`,
        { error: failed > 0, action: undo && done.length ? { label: "Undo", run: () => undo(done) } : undefined });
      callbacks.done();
    } catch (error) {
      const missing = error instanceof ApiError && (error.status === 404 || error.status === 405);
      toast(missing ? "Bulk actions are not available on this server" :
        `${label} failed: ${error instanceof ApiError ? error.message : error}`, { error: true });
    }
  };
  // A grantee acts on a shared collection's items only through the collection.
  const library = writable && (!collection || collection.role === "owner");
  const tagInput = h("input", { id: "bulk-tag", type: "text", placeholder: "tag", autocomplete: "off" });
  const folder = h("select", { id: "bulk-folder", "aria-label": "Move to folder" },
    h("option", { value: "", text: "Move to…" }),
    h("option", { value: "__root__", text: "No folder" }),
    ...[...folderNames].map(([id, name]) => h("option", { value: id, text: name })));
  folder.addEventListener("change", () => {
    if (!folder.value) return;
    run({ action: "move", folder_id: folder.value === "__root__" ? null : folder.value }, "Move");
  });
  const more = callbacks.more;
  append(bar,
    h("span", { class: "count", text: more ? `${ids.length} of ${more.total} selected` : `${ids.length} selected` }),
    more ? h("button", { type: "button", class: "link", id: "bulk-select-all",
      text: more.total > BULK_MAX_IDS ? `Select the first ${BULK_MAX_IDS}` : `Select all ${more.total}`,
      onclick: more.select }) : null,
    library ? h("form", { class: "inline-form", onsubmit: (event) => {
      event.preventDefault();
      const tags = tagInput.value.split(",").map((t) => t.trim()).filter(Boolean);
      if (tags.length) run({ action: "tag", tags }, "Tag");
    } },
    h("label", { for: "bulk-tag", class: "visually-hidden", text: "Tag to add" }), tagInput,
    h("button", { type: "submit", class: "button", text: "Tag" })) : null,
    library && folderNames.size ? folder : null,
    library ? collectionPicker(ids, collection, callbacks) : null,
    callbacks.moveToStart ? h("button", { type: "button", class: "button", id: "bulk-move-to-start",
      text: "Move to start", onclick: callbacks.moveToStart }) : null,
    writable && collection && collection.role !== "view" ? h("button", { type: "button", class: "button", id: "bulk-remove-from-collection",
      text: "Remove from collection", onclick: async () => {
        try {
          await removeFromCollection(collection.id, ids);
          toast(`Removed ${ids.length} from “${collection.name}”`);
          callbacks.done();
        } catch (error) {
          toast(`Not removed: ${error instanceof ApiError ? error.message : error}`, { error: true });
        }
      } }) : null,
    library ? h("button", { type: "button", class: "button", text: "Favourite",
      onclick: () => run({ action: "favorite" }, "Favourite") }) : null,
    library ? h("button", { type: "button", class: "button danger", text: "Delete",
      onclick: () => run({ action: "delete" }, "Delete", (done) => restore(done, callbacks.done)) }) : null,
    h("button", { type: "button", class: "button ghost", text: "Clear selection",
      onclick: () => callbacks.clear() }));
}

/** One bulk action, answered once the changed assets are searchable (bounded by the
 * server), so the refresh that follows shows the change. @param {any} body */
function bulk(body) {
  return api("POST", "/v1/assets/bulk?wait=true", { json: body });
}

/** Undo a bulk delete: the same assets back from the trash. @param {string[]} ids @param {() => void} done */
async function restore(ids, done) {
  try {
    const result = await bulk({ action: "restore", ids });
    toast(`Restored ${result.succeeded.length}` + (result.failed.length ? `, ${result.failed.length} failed` : ""),
      { error: result.failed.length > 0 });
    done();
  } catch (error) {
    toast(`Not restored: ${error instanceof ApiError ? error.message : error}`, { error: true });
  }
}

/** "Add to collection…": the caller's own collections, or a new one. */
function collectionPicker(ids, shown, callbacks) {
  const targets = ownCollections().filter((c) => !shown || c.id !== shown.id);
  const select = h("select", { id: "bulk-collection", "aria-label": "Add to collection" },
    h("option", { value: "", text: "Add to collection…" }),
    ...targets.map((c) => h("option", { value: c.id, text: c.name })),
    h("option", { value: "__new__", text: "New collection…" }));
  const add = async (collection) => {
    try {
      await addToCollection(collection.id, ids);
      toast(`Added ${ids.length} to “${collection.name}”`);
      callbacks.clear();
    } catch (error) {
      toast(`Not added: ${error instanceof ApiError ? error.message : error}`, { error: true });
    }
  };
  select.addEventListener("change", () => {
    const value = /** @type {HTMLSelectElement} */ (select).value;
    if (value === "__new__") createCollection(add);
    else if (value) add(targets.find((c) => c.id === value));
  });
  return select;
}
