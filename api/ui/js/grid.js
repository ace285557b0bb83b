// The results grid: lazy thumbnails, infinite scroll, keyboard navigation, multi-select.
import { media } from "./api.js";
import { h, icons } from "./dom.js";

const TYPE_ICONS = { audio: icons.audio, video: icons.video, text: icons.text, font: icons.font };

export class Grid {
  /**
   * @param {HTMLElement} list the <ul role="listbox">
   * @param {HTMLElement} sentinel observed to load the next page
   * @param {{open: (id: string) => void, loadMore: () => void,
   *          selectionChanged: (ids: string[]) => void}} callbacks
   */
  constructor(list, sentinel, callbacks) {
    this.list = list;
    this.callbacks = callbacks;
    /** @type {any[]} */
    this.assets = [];
    /** @type {Set<string>} */
    this.selected = new Set();
    this.anchor = -1;
    this.focusIndex = 0;
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) callbacks.loadMore();
    }, { rootMargin: "800px 0px" }).observe(sentinel);
    list.addEventListener("keydown", (event) => this.onKey(event));
    list.addEventListener("click", (event) => this.onClick(event));
    list.addEventListener("focus", () => this.focusTile(this.focusIndex), { once: false });
  }

  /** Forget every result (a new query). */
  reset() {
    this.assets = [];
    this.list.replaceChildren();
    this.focusIndex = 0;
    this.anchor = -1;
    if (this.selected.size) {
      this.selected.clear();
      this.callbacks.selectionChanged([]);
    }
  }

  /** @param {{asset: any, score: number}[]} items */
  append(items) {
    const fragment = document.createDocumentFragment();
    for (const { asset } of items) {
      const index = this.assets.length;
      this.assets.push(asset);
      fragment.append(this.tile(asset, index));
    }
    this.list.append(fragment);
    this.list.setAttribute("tabindex", this.assets.length ? "-1" : "0");
    const first = this.tileAt(this.focusIndex);
    if (first) first.tabIndex = 0;
  }

  /** Replace one asset's tile after an edit (star, tags, delete…). */
  update(asset) {
    const index = this.assets.findIndex((a) => a.id === asset.id);
    if (index < 0) return;
    this.assets[index] = asset;
    const old = this.tileAt(index);
    const fresh = this.tile(asset, index);
    fresh.tabIndex = old ? old.tabIndex : -1;
    old?.replaceWith(fresh);
  }

  /** @param {any} asset @param {number} index */
  tile(asset, index) {
    const selected = this.selected.has(asset.id);
    const hasThumb = asset.previews && Object.keys(asset.previews).length > 0;
    const picture = hasThumb
      ? h("img", {
        src: media.thumbnail(asset.id, "small"), alt: "", loading: "lazy", decoding: "async",
        width: 150, height: 150, onerror: (e) => e.target.replaceWith(placeholder(asset)),
      })
      : placeholder(asset);
    return h("li", {
      class: `tile${selected ? " selected" : ""}${asset.status === "deleted" ? " deleted" : ""}`,
      role: "option", "aria-selected": String(selected), tabindex: "-1",
      id: `tile-${asset.id}`, "data-index": String(index), "data-id": asset.id, "data-type": asset.type,
      "aria-label": `${asset.name} (${asset.type})`,
    },
    h("div", { class: "thumb" }, picture),
    h("span", { class: "tile-check", "aria-hidden": "true" }),
    asset.favorite ? h("span", { class: "tile-star", html: icons.starFilled, title: "Favourite" }) : null,
    h("span", { class: "tile-name", text: asset.name }));
  }

  /** @param {number} index */
  tileAt(index) {
    return /** @type {HTMLElement|null} */ (this.list.children[index] || null);
  }

  /** @param {number} index */
  focusTile(index) {
    if (!this.assets.length) return;
    const clamped = Math.max(0, Math.min(index, this.assets.length - 1));
    const previous = this.tileAt(this.focusIndex);
    if (previous) previous.tabIndex = -1;
    this.focusIndex = clamped;
    const tile = this.tileAt(clamped);
    if (!tile) return;
    tile.tabIndex = 0;
    tile.focus({ preventScroll: true });
    tile.scrollIntoView({ block: "nearest" });
    if (clamped >= this.assets.length - 8) this.callbacks.loadMore();
  }

  /** How many tiles a row holds (from their positions; the grid is responsive). */
  columns() {
    const first = this.tileAt(0);
    if (!first) return 1;
    let count = 0;
    for (const child of this.list.children) {
      if (/** @type {HTMLElement} */ (child).offsetTop !== first.offsetTop) break;
      count += 1;
    }
    return Math.max(1, count);
  }

  /** @param {KeyboardEvent} event */
  onKey(event) {
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: this.columns(), ArrowUp: -this.columns(),
      Home: -Infinity, End: Infinity };
    if (event.key in moves) {
      event.preventDefault();
      const step = moves[event.key];
      const target = Number.isFinite(step) ? this.focusIndex + step : (step < 0 ? 0 : this.assets.length - 1);
      this.focusTile(target);
      if (event.shiftKey) this.selectRange(this.anchor < 0 ? this.focusIndex : this.anchor, this.focusIndex);
    } else if (event.key === "Enter") {
      event.preventDefault();
      const asset = this.assets[this.focusIndex];
      if (asset) this.callbacks.open(asset.id);
    } else if (event.key === " ") {
      event.preventDefault();
      this.toggle(this.focusIndex);
    } else if (event.key === "a" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      this.selectRange(0, this.assets.length - 1);
    }
  }

  /** @param {MouseEvent} event */
  onClick(event) {
    const tile = /** @type {HTMLElement|null} */ (/** @type {HTMLElement} */ (event.target).closest(".tile"));
    if (!tile) return;
    const index = Number(tile.dataset.index);
    if (event.shiftKey) {
      event.preventDefault();
      this.selectRange(this.anchor < 0 ? index : this.anchor, index);
    } else if (event.ctrlKey || event.metaKey ||
      /** @type {HTMLElement} */ (event.target).closest(".tile-check") || this.selected.size) {
      this.toggle(index);
    } else {
      this.callbacks.open(this.assets[index].id);
    }
    this.focusTile(index);
  }

  /** @param {number} index */
  toggle(index) {
    const asset = this.assets[index];
    if (!asset) return;
    if (this.selected.has(asset.id)) this.selected.delete(asset.id);
    else this.selected.add(asset.id);
    this.anchor = index;
    this.paintSelection();
  }

  /** Select every tile from `from` to `to` (inclusive), keeping the rest of the selection. */
  selectRange(from, to) {
    const [low, high] = from <= to ? [from, to] : [to, from];
    for (let i = low; i <= high; i += 1) this.selected.add(this.assets[i].id);
    if (this.anchor < 0) this.anchor = from;
    this.paintSelection();
  }

  clearSelection() {
    this.selected.clear();
    this.anchor = -1;
    this.paintSelection();
  }

  paintSelection() {
    for (const child of this.list.children) {
      const tile = /** @type {HTMLElement} */ (child);
      const on = this.selected.has(tile.dataset.id || "");
      tile.classList.toggle("selected", on);
      tile.setAttribute("aria-selected", String(on));
    }
    this.list.classList.toggle("selecting", this.selected.size > 0);
    this.callbacks.selectionChanged([...this.selected]);
  }
}

/** @param {any} asset */
function placeholder(asset) {
  return h("span", { class: "placeholder", html: TYPE_ICONS[asset.type] || icons.file });
}
