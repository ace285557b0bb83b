// The folder tree in the sidebar: filter by a folder (with or without its subfolders),
// create, rename, move (drag a folder onto another, or onto the heading for the top level),
// delete; drop selected tiles on a folder to move them there.
import { api, ApiError } from "./api.js";
import { field, message, openDialog } from "./dialog.js";
import { append, clear, h, icons } from "./dom.js";
import { folderNames } from "./facets.js";
import { getState, setFilter, setState } from "./state.js";
import { toast } from "./toast.js";

/** Drag payload types: a folder id, or asset ids (JSON list) from the grid. */
export const DRAG_FOLDER = "application/x-assetlens-folder";
export const DRAG_ASSETS = "application/x-assetlens-assets";

/** @type {any[]} */
let folders = [];
/** Called after a change the result list must show (assets moved, folders deleted). */
let changed = () => undefined;

/** @param {() => void} callback */
export function onFoldersChanged(callback) {
  changed = callback;
}

/** The folders loaded last (flat, parents first). */
export function allFolders() {
  return folders;
}

/** Load the folder tree (GET /v1/folders); a 404 (no folders on this server) hides it. */
export async function loadFolders() {
  const nav = /** @type {HTMLElement} */ (document.getElementById("folders"));
  try {
    folders = (await api("GET", "/v1/folders")).items;
  } catch {
    nav.hidden = true;
    return;
  }
  folderNames.clear();
  for (const folder of folders) folderNames.set(folder.id, pathOf(folder));
  renderFolders();
  nav.hidden = false;
}

/** @param {any} folder */
function pathOf(folder) {
  return [...folder.path, folder.name].join(" / ");
}

/** Render the tree, the "include subfolders" toggle and the "New folder" button. */
export function renderFolders() {
  const nav = /** @type {HTMLElement} */ (document.getElementById("folders"));
  const state = getState();
  const active = new Set(state.filters.folder_id || []);
  const tree = h("ul", { class: "tree", id: "folder-tree" });
  const ordered = [...folders].sort((a, b) => pathOf(a).localeCompare(pathOf(b)));
  for (const folder of ordered) {
    const on = active.has(folder.id);
    const item = h("button", {
      type: "button", class: `tree-item${on ? " active" : ""}`, "aria-pressed": String(on),
      html: icons.folder, draggable: "true", "data-folder": folder.id,
      onclick: () => setFilter("folder_id", on ? [] : [folder.id]),
      ondragstart: (event) => event.dataTransfer.setData(DRAG_FOLDER, folder.id),
    }, h("span", { class: "tree-name", text: folder.name }),
    h("span", { class: "count", text: String(folder.asset_count ?? "") }));
    const row = h("li", { class: `tree-row depth-${Math.min(folder.depth, 6)}` }, item,
      h("button", { type: "button", class: "icon-button tree-menu", html: icons.more,
        "aria-label": `Edit folder ${folder.name}`, onclick: () => editFolder(folder) }));
    dropTarget(row, folder.id);
    tree.append(row);
  }
  const heading = h("div", { class: "panel-head" },
    h("h2", { id: "folders-title", text: "Folders" }),
    h("button", { type: "button", class: "icon-button", id: "folder-new", html: icons.plus,
      "aria-label": "New folder", onclick: () => createFolder(null) }));
  dropTarget(heading, null);
  const toggle = h("input", { type: "checkbox", id: "include-subfolders", checked: state.subfolders,
    onchange: () => setState({ subfolders: /** @type {HTMLInputElement} */ (toggle).checked }) });
  clear(nav);
  append(nav, heading,
    folders.length ? h("label", { class: "toggle", for: "include-subfolders" }, toggle,
      h("span", { text: "Include subfolders" })) : null,
    folders.length ? tree : h("p", { class: "muted small", text: "No folders yet." }));
}

/**
 * Accept drops: a folder (move it under `parentId`, null = top level) or selected assets
 * (move them into `parentId`).
 * @param {HTMLElement} element @param {string|null} parentId
 */
function dropTarget(element, parentId) {
  const accepts = (event) => event.dataTransfer?.types.includes(DRAG_FOLDER) ||
    (parentId !== null && event.dataTransfer?.types.includes(DRAG_ASSETS));
  element.addEventListener("dragover", (event) => {
    if (!accepts(event)) return;
    event.preventDefault();
    element.classList.add("drop-over");
  });
  element.addEventListener("dragleave", () => element.classList.remove("drop-over"));
  element.addEventListener("drop", (event) => {
    element.classList.remove("drop-over");
    if (!accepts(event)) return;
    event.preventDefault();
    const folderId = event.dataTransfer.getData(DRAG_FOLDER);
    if (folderId) {
      if (folderId !== parentId) moveFolder(folderId, parentId);
      return;
    }
    const ids = JSON.parse(event.dataTransfer.getData(DRAG_ASSETS) || "[]");
    if (ids.length && parentId) moveAssets(ids, parentId);
  });
}

/** @param {string} id @param {string|null} parentId */
async function moveFolder(id, parentId) {
  try {
    await api("PATCH", `/v1/folders/${encodeURIComponent(id)}`, { json: { parent_id: parentId } });
    toast("Folder moved");
    await loadFolders();
  } catch (error) {
    toast(`Not moved: ${message(error)}`, { error: true });
  }
}

/** Move assets into a folder (POST /v1/assets/bulk). @param {string[]} ids @param {string} folderId */
export async function moveAssets(ids, folderId) {
  try {
    const result = await api("POST", "/v1/assets/bulk?wait=true", { json: { action: "move", folder_id: folderId, ids } });
    toast(`Moved ${result.succeeded.length} to ${folderNames.get(folderId) || "the folder"}` +
      (result.failed.length ? `, ${result.failed.length} failed` : ""), { error: result.failed.length > 0 });
    changed();
    loadFolders();
  } catch (error) {
    toast(`Not moved: ${message(error)}`, { error: true });
  }
}

/** The "New folder" dialog. @param {string|null} parentId */
export function createFolder(parentId) {
  openDialog(parentId ? `New folder in ${folderNames.get(parentId)}` : "New folder", (body, close) => {
    const name = h("input", { type: "text", required: true, maxlength: "255", autocomplete: "off" });
    const error = h("p", { class: "error", role: "alert", hidden: true });
    body.append(h("form", { class: "stack", onsubmit: async (event) => {
      event.preventDefault();
      try {
        await api("POST", "/v1/folders", { json: { name: /** @type {HTMLInputElement} */ (name).value, parent_id: parentId } });
        close();
        toast("Folder created");
        loadFolders();
      } catch (err) {
        error.hidden = false;
        error.textContent = message(err);
      }
    } }, field("Name", name), error,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", text: "Create" }))));
    name.focus();
  });
}

/** The folder dialog: rename, move under another folder, new subfolder, delete. @param {any} folder */
function editFolder(folder) {
  openDialog(`Folder ${pathOf(folder)}`, (body, close) => {
    const name = /** @type {HTMLInputElement} */ (h("input", { type: "text", value: folder.name, required: true,
      maxlength: "255", autocomplete: "off" }));
    const below = new Set([folder.id]);
    for (const f of folders) if (f.parent_id && below.has(f.parent_id)) below.add(f.id);
    const parent = /** @type {HTMLSelectElement} */ (h("select", {},
      h("option", { value: "", text: "Top level" }),
      ...folders.filter((f) => !below.has(f.id)).map((f) =>
        h("option", { value: f.id, text: pathOf(f), selected: f.id === folder.parent_id }))));
    const error = h("p", { class: "error", role: "alert", hidden: true });
    const fail = (err) => { error.hidden = false; error.textContent = message(err); };
    const path = `/v1/folders/${encodeURIComponent(folder.id)}`;
    const remove = async (force) => {
      try {
        const result = await api("DELETE", `${path}${force ? "?force=true" : ""}`);
        close();
        toast(`Deleted ${result.deleted_folders} folder(s)` +
          (result.trashed_assets ? `; ${result.trashed_assets} asset(s) moved to the trash` : ""));
        if ((getState().filters.folder_id || []).includes(folder.id)) setFilter("folder_id", []);
        else changed();
        loadFolders();
      } catch (err) {
        if (err instanceof ApiError && err.status === 409 && !force) {
          error.hidden = false;
          error.textContent = "This folder is not empty. Deleting it moves its assets (and its " +
            "subfolders' assets) to the trash and deletes its subfolders.";
          error.append(" ", h("button", { type: "button", class: "button danger", id: "folder-force-delete",
            text: "Delete with contents", onclick: () => remove(true) }));
        } else {
          fail(err);
        }
      }
    };
    body.append(
      h("form", { class: "stack", onsubmit: async (event) => {
        event.preventDefault();
        try {
          await api("PATCH", path, { json: { name: name.value, parent_id: parent.value || null } });
          close();
          toast("Folder saved");
          loadFolders();
        } catch (err) {
          fail(err);
        }
      } }, field("Name", name), field("Inside", parent), error,
      h("div", { class: "actions" },
        h("button", { type: "submit", class: "primary", text: "Save" }),
        h("button", { type: "button", class: "button", text: "New subfolder",
          onclick: () => { close(); createFolder(folder.id); } }),
        h("button", { type: "button", class: "button danger", id: "folder-delete", text: "Delete folder",
          onclick: () => remove(false) }))));
    name.focus();
  });
}
