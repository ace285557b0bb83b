// Folder tree and collections list in the sidebar; hidden while the server lacks them.
import { api } from "./api.js";
import { clear, h, icons } from "./dom.js";
import { folderNames } from "./facets.js";
import { getState, setFilter } from "./state.js";

/** Load the folder tree (GET /v1/folders); a 404 (no folders on this server) hides it. */
export async function loadFolders() {
  const nav = /** @type {HTMLElement} */ (document.getElementById("folders"));
  const tree = /** @type {HTMLElement} */ (document.getElementById("folder-tree"));
  let folders;
  try {
    folders = (await api("GET", "/v1/folders")).items;
  } catch {
    nav.hidden = true;
    return;
  }
  folderNames.clear();
  for (const folder of folders) folderNames.set(folder.id, [...folder.path, folder.name].join(" / "));
  renderFolders(tree, folders);
  nav.hidden = folders.length === 0;
}

/** @param {HTMLElement} tree @param {any[]} folders */
export function renderFolders(tree, folders) {
  clear(tree);
  const active = new Set(getState().filters.folder_id || []);
  const ordered = [...folders].sort((a, b) =>
    [...a.path, a.name].join("\u0000").localeCompare([...b.path, b.name].join("\u0000")));
  for (const folder of ordered) {
    tree.append(h("li", { class: `depth-${Math.min(folder.depth, 6)}` },
      h("button", {
        type: "button", class: `tree-item${active.has(folder.id) ? " active" : ""}`,
        "aria-pressed": String(active.has(folder.id)), html: icons.folder,
        onclick: () => setFilter("folder_id", active.has(folder.id) ? [] : [folder.id]),
      }, h("span", { text: folder.name }), h("span", { class: "count", text: String(folder.asset_count ?? "") }))));
  }
}

/** Load the collections list (GET /v1/collections); hidden when the server has none. */
export async function loadCollections() {
  const nav = /** @type {HTMLElement} */ (document.getElementById("collections"));
  const list = /** @type {HTMLElement} */ (document.getElementById("collection-list"));
  try {
    const items = (await api("GET", "/v1/collections")).items || [];
    clear(list);
    for (const collection of items) {
      list.append(h("li", {}, h("span", { class: "tree-item static", text: collection.name })));
    }
    nav.hidden = items.length === 0;
  } catch {
    nav.hidden = true;
  }
}
