// Collections: the sidebar list, the open collection's header (rename, share, delete),
// the share dialog, adding/removing items and reordering them by drag.
import { api } from "./api.js";
import { field, message, openDialog } from "./dialog.js";
import { append, clear, h, icons } from "./dom.js";
import { getState, setState } from "./state.js";
import { toast } from "./toast.js";

/** @type {any[]} */
let collections = [];

/** Collections the caller may add its own library's assets to (its own). */
export function ownCollections() {
  return collections.filter((c) => c.role === "owner");
}

/** @param {string} id */
export function collectionById(id) {
  return collections.find((c) => c.id === id) || null;
}

/** Load the collections list (GET /v1/collections); hidden when the server has none. */
export async function loadCollections() {
  const nav = /** @type {HTMLElement} */ (document.getElementById("collections"));
  try {
    collections = (await api("GET", "/v1/collections")).items || [];
  } catch {
    nav.hidden = true;
    return;
  }
  renderCollections();
  nav.hidden = false;
}

export function renderCollections() {
  const nav = /** @type {HTMLElement} */ (document.getElementById("collections"));
  const current = getState().collection;
  const list = h("ul", { class: "tree", id: "collection-list" });
  for (const collection of collections) {
    const on = collection.id === current;
    list.append(h("li", {}, h("button", {
      type: "button", class: `tree-item${on ? " active" : ""}`, "aria-current": on ? "page" : undefined,
      "data-collection": collection.id,
      onclick: () => setState({ collection: collection.id, q: "", filters: {}, sort: "", asset: "", subfolders: false }),
    }, h("span", { class: "tree-name", text: collection.name }),
    collection.role === "owner" ? null : h("span", { class: "badge", text: `${collection.owner} · ${collection.role}` }),
    h("span", { class: "count", text: String(collection.item_count) }))));
  }
  clear(nav);
  nav.append(
    h("div", { class: "panel-head" },
      h("h2", { id: "collections-title", text: "Collections" }),
      h("button", { type: "button", class: "icon-button", id: "collection-new", html: icons.plus,
        "aria-label": "New collection", onclick: () => createCollection() })),
    collections.length ? list : h("p", { class: "muted small", text: "No collections yet." }));
}

/** The "New collection" dialog; `then` gets the new collection. @param {(c: any) => void} [then] */
export function createCollection(then) {
  openDialog("New collection", (body, close) => {
    const name = /** @type {HTMLInputElement} */ (h("input", { type: "text", required: true, maxlength: "200", autocomplete: "off" }));
    const description = /** @type {HTMLTextAreaElement} */ (h("textarea", { rows: "2", maxlength: "2000" }));
    const error = h("p", { class: "error", role: "alert", hidden: true });
    body.append(h("form", { class: "stack", onsubmit: async (event) => {
      event.preventDefault();
      try {
        const created = await api("POST", "/v1/collections", { json: { name: name.value, description: description.value } });
        close();
        await loadCollections();
        toast(`Collection “${created.name}” created`);
        then?.(created);
      } catch (err) {
        error.hidden = false;
        error.textContent = message(err);
      }
    } }, field("Name", name), field("Description", description), error,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", text: "Create" }))));
    name.focus();
  });
}

/**
 * Add assets to a collection (at most 100 ids a request).
 * @param {string} collectionId @param {string[]} ids
 */
export async function addToCollection(collectionId, ids) {
  const path = `/v1/collections/${encodeURIComponent(collectionId)}/items`;
  for (let i = 0; i < ids.length; i += 100) {
    await api("POST", path, { json: { asset_ids: ids.slice(i, i + 100) } });
  }
  await loadCollections();
}

/** @param {string} collectionId @param {string[]} ids */
export async function removeFromCollection(collectionId, ids) {
  const base = `/v1/collections/${encodeURIComponent(collectionId)}/items`;
  for (const id of ids) await api("DELETE", `${base}/${encodeURIComponent(id)}`);
  await loadCollections();
}

/** Put `ids` first in this order (the rest keep their order after them). @param {string} collectionId @param {string[]} ids */
export async function reorder(collectionId, ids) {
  await api("PUT", `/v1/collections/${encodeURIComponent(collectionId)}/items/order`, { json: { asset_ids: ids } });
}

/**
 * The header above the grid while a collection is shown (hidden in the library).
 * @param {HTMLElement} bar @param {any|null} collection @param {() => void} refresh
 */
export function renderCollectionBar(bar, collection, refresh) {
  clear(bar);
  bar.hidden = !collection;
  if (!collection) return;
  const owner = collection.role === "owner";
  const roleText = owner ? "Yours" : `Shared by ${collection.owner} — you can ${collection.role === "edit" ? "add, remove and reorder" : "view"}`;
  append(bar,
    h("div", { class: "collection-title" },
      h("h2", { id: "collection-name", text: collection.name }),
      h("span", { class: "badge", id: "collection-role", text: roleText })),
    collection.description ? h("p", { class: "muted", text: collection.description }) : null,
    h("div", { class: "actions" },
      owner ? h("button", { type: "button", class: "button", id: "collection-share", text: "Share…",
        onclick: () => shareDialog(collection, refresh) }) : null,
      owner ? h("button", { type: "button", class: "button", text: "Rename…",
        onclick: () => renameDialog(collection, refresh) }) : null,
      owner ? h("button", { type: "button", class: "button danger", id: "collection-delete", text: "Delete collection",
        onclick: () => deleteDialog(collection) }) : null,
      h("button", { type: "button", class: "button ghost", text: "Back to library",
        onclick: () => setState({ collection: "", q: "", filters: {}, sort: "", asset: "" }) })),
    collection.role !== "view" ? h("p", { class: "muted small", text:
      "Drag tiles to reorder (without a search or sort). Select tiles to remove them." }) : null);
}

/** @param {any} collection @param {() => void} refresh */
function renameDialog(collection, refresh) {
  openDialog("Rename collection", (body, close) => {
    const name = /** @type {HTMLInputElement} */ (h("input", { type: "text", value: collection.name, required: true, maxlength: "200" }));
    const description = /** @type {HTMLTextAreaElement} */ (h("textarea", { rows: "2", maxlength: "2000" }));
    description.value = collection.description || "";
    const error = h("p", { class: "error", role: "alert", hidden: true });
    body.append(h("form", { class: "stack", onsubmit: async (event) => {
      event.preventDefault();
      try {
        await api("PATCH", `/v1/collections/${encodeURIComponent(collection.id)}`,
          { json: { name: name.value, description: description.value } });
        close();
        await loadCollections();
        refresh();
      } catch (err) {
        error.hidden = false;
        error.textContent = message(err);
      }
    } }, field("Name", name), field("Description", description), error,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", text: "Save" }))));
  });
}

/** @param {any} collection */
function deleteDialog(collection) {
  openDialog(`Delete “${collection.name}”?`, (body, close) => {
    body.append(h("p", { text: "The collection and its shares go; its assets stay in the library." }),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "button danger", id: "collection-delete-confirm", text: "Delete",
          onclick: async () => {
            try {
              await api("DELETE", `/v1/collections/${encodeURIComponent(collection.id)}`);
              close();
              await loadCollections();
              setState({ collection: "", q: "", filters: {}, sort: "", asset: "" });
              toast("Collection deleted");
            } catch (err) {
              toast(message(err), { error: true });
            }
          } }),
        h("button", { type: "button", class: "button", text: "Cancel", onclick: close })));
  });
}

/** Share with a workspace (view/edit), change a role, revoke. @param {any} collection @param {() => void} refresh */
export function shareDialog(collection, refresh) {
  const base = `/v1/collections/${encodeURIComponent(collection.id)}/shares`;
  openDialog(`Share “${collection.name}”`, (body) => {
    const list = h("ul", { class: "share-list", id: "share-list" });
    const error = h("p", { class: "error", role: "alert", hidden: true });
    const roleSelect = (value) => h("select", {},
      h("option", { value: "view", text: "can view", selected: value === "view" }),
      h("option", { value: "edit", text: "can edit", selected: value === "edit" }));
    const save = async (workspace, role) => {
      try {
        collection = await api("PUT", `${base}/${encodeURIComponent(workspace)}`, { json: { role } });
        error.hidden = true;
        draw();
        refresh();
        return true;
      } catch (err) {
        error.hidden = false;
        error.textContent = message(err);
        return false;
      }
    };
    const draw = () => {
      clear(list);
      const shares = Object.entries(collection.shares || {});
      if (!shares.length) list.append(h("li", { class: "muted", text: "Not shared with anyone yet." }));
      for (const [workspace, role] of shares) {
        const select = /** @type {HTMLSelectElement} */ (roleSelect(role));
        select.setAttribute("aria-label", `Role of ${workspace}`);
        select.addEventListener("change", () => save(workspace, select.value));
        list.append(h("li", { "data-workspace": workspace }, h("span", { class: "share-who", text: workspace }), select,
          h("button", { type: "button", class: "button danger", text: "Revoke", "aria-label": `Revoke ${workspace}`,
            onclick: async () => {
              try {
                await api("DELETE", `${base}/${encodeURIComponent(workspace)}`);
                collection = await api("GET", `/v1/collections/${encodeURIComponent(collection.id)}`);
                draw();
                refresh();
                toast(`${workspace} no longer has access`);
              } catch (err) {
                toast(message(err), { error: true });
              }
            } })));
      }
    };
    const workspace = /** @type {HTMLInputElement} */ (h("input", { type: "text", required: true, autocomplete: "off",
      placeholder: "workspace name", spellcheck: "false" }));
    const role = /** @type {HTMLSelectElement} */ (roleSelect("view"));
    draw();
    body.append(list,
      h("form", { class: "share-form", onsubmit: async (event) => {
        event.preventDefault();
        if (await save(workspace.value.trim(), role.value)) {
          toast(`Shared with ${workspace.value.trim()}`);
          workspace.value = "";
        }
      } }, field("Workspace", workspace), field("Role", role),
      h("button", { type: "submit", class: "primary", text: "Share" })),
      error,
      h("p", { class: "muted small", text: "A viewer sees the collection's assets; an editor also adds, removes and reorders them. Revoking takes effect on their next request." }));
    workspace.focus();
  });
}
