// Dragging tiles: onto a folder in the sidebar (move there), or — in a collection shown in
// its own order, for an owner or editor — onto another tile to reorder the collection.
import { DRAG_ASSETS } from "./folders.js";

/** Marks a drag that started in the grid (dataTransfer types are all a dragover may read). */
const DRAG_ORDER = "application/x-assetlens-order";

/**
 * @param {HTMLElement} list the grid's <ul>
 * @param {import("./grid.js").Grid} grid
 * @param {{canReorder: () => boolean, reorder: (ids: string[]) => void}} options
 */
export function enableTileDrag(list, grid, options) {
  /** @type {string[]} */
  let dragged = [];
  const tileOf = (event) => /** @type {HTMLElement|null} */ (
    /** @type {HTMLElement} */ (event.target).closest?.(".tile"));

  list.addEventListener("dragstart", (event) => {
    const tile = tileOf(event);
    if (!tile || !event.dataTransfer) return;
    const id = tile.dataset.id || "";
    dragged = grid.selected.has(id) ? grid.selectedIds() : [id];
    event.dataTransfer.setData(DRAG_ASSETS, JSON.stringify(dragged));
    event.dataTransfer.setData(DRAG_ORDER, "1");
    event.dataTransfer.setData("text/plain", `${dragged.length} asset(s)`);
    event.dataTransfer.effectAllowed = "move";
  });
  list.addEventListener("dragend", () => { dragged = []; });
  list.addEventListener("dragover", (event) => {
    const tile = tileOf(event);
    if (!tile || !event.dataTransfer?.types.includes(DRAG_ORDER) || !options.canReorder()) return;
    event.preventDefault();
    for (const other of list.querySelectorAll(".drop-before")) other.classList.remove("drop-before");
    tile.classList.add("drop-before");
  });
  list.addEventListener("dragleave", (event) => tileOf(event)?.classList.remove("drop-before"));
  list.addEventListener("drop", (event) => {
    const tile = tileOf(event);
    for (const other of list.querySelectorAll(".drop-before")) other.classList.remove("drop-before");
    if (!tile || !dragged.length || !options.canReorder()) return;
    event.preventDefault();
    const target = tile.dataset.id || "";
    if (dragged.includes(target)) return;
    const moving = new Set(dragged);
    const rest = grid.assets.map((a) => a.id).filter((id) => !moving.has(id));
    rest.splice(rest.indexOf(target), 0, ...dragged);
    options.reorder(rest);
  });
}
