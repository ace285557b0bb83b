// The results grid: windowed tiles, lazy thumbnails, infinite scroll, keyboard, multi-select.
//
// Only the rows near the viewport are in the DOM (the list's padding stands in for the
// rest), so 10 000 results scroll as smoothly as 60: see benchmarks/bench_ui.py.
import { media } from "./api.js";
import { h, icons } from "./dom.js";

const TYPE_ICONS = { audio: icons.audio, video: icons.video, text: icons.text, font: icons.font };

/** Tiles whose thumbnails load eagerly: about the first screen on a large display. */
const EAGER_TILES = 24;

/** Rows rendered above and below the visible ones (fast scrolling shows no gaps). */
const OVERSCAN_ROWS = 4;

export class Grid {
  /**
   * @param {HTMLElement} list the <ul role="listbox">
   * @param {HTMLElement} sentinel observed to load the next page
   * @param {{open: (id: string) => void, loadMore: () => void,
   *          selectionChanged: (ids: string[]) => void, moved?: (id: string) => void}} callbacks
   *   `moved`: the keyboard moved the focus to another tile
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
    /** Rendered tiles by index: a contiguous range [first, last]. @type {Map<number, HTMLElement>} */
    this.rendered = new Map();
    this.first = 0;
    this.last = -1;
    /** Measured layout: columns, row stride (tile height + gap); 0 until measured. */
    this.layout = { columns: 1, stride: 0, gap: 0, width: -1 };
    this.frame = 0;
    /** Extra data (e.g. a collection role) the tile factory may need. @type {(asset: any, tile: HTMLElement) => void} */
    this.decorate = () => undefined;
    this.sentinel = sentinel;
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) callbacks.loadMore();
    }, { rootMargin: "800px 0px" }).observe(sentinel);
    list.addEventListener("keydown", (event) => this.onKey(event));
    list.addEventListener("click", (event) => this.onClick(event));
    list.addEventListener("focus", () => this.focusTile(this.focusIndex), { once: false });
    window.addEventListener("scroll", () => this.schedule(), { passive: true });
    new ResizeObserver(() => {
      if (this.list.clientWidth !== this.layout.width) {
        this.layout.width = -1;
        this.schedule();
      }
    }).observe(list);
  }

  /** Whether the end of the list is within a screen of the viewport (load more). */
  nearEnd() {
    return this.sentinel.getBoundingClientRect().top < window.innerHeight + 800;
  }

  /** Re-window on the next frame (at most once a frame). */
  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.renderWindow();
    });
  }

  /** Forget every result (a new query). */
  reset() {
    this.assets = [];
    this.clearRendered();
    this.focusIndex = 0;
    this.anchor = -1;
    if (this.selected.size) {
      this.selected.clear();
      this.callbacks.selectionChanged([]);
    }
  }

  clearRendered() {
    this.rendered.clear();
    this.first = 0;
    this.last = -1;
    this.list.replaceChildren();
  }

  /** @param {{asset: any, score: number}[]} items */
  append(items) {
    for (const { asset } of items) this.assets.push(asset);
    this.list.setAttribute("tabindex", this.assets.length ? "-1" : "0");
    this.list.dataset.loaded = String(this.assets.length);
    this.renderWindow();
  }

  /** Replace one asset's tile after an edit (star, tags, delete…). */
  update(asset) {
    const index = this.assets.findIndex((a) => a.id === asset.id);
    if (index < 0) return;
    this.assets[index] = asset;
    const old = this.rendered.get(index);
    if (!old) return;
    const fresh = this.tile(asset, index);
    fresh.tabIndex = old.tabIndex;
    old.replaceWith(fresh);
    this.rendered.set(index, fresh);
  }

  /** Remove assets from the list (e.g. taken out of a collection). @param {string[]} ids */
  remove(ids) {
    const gone = new Set(ids);
    this.assets = this.assets.filter((a) => !gone.has(a.id));
    for (const id of ids) this.selected.delete(id);
    this.list.dataset.loaded = String(this.assets.length);
    this.clearRendered();
    this.renderWindow();
    this.callbacks.selectionChanged([...this.selected]);
  }

  /** Measure columns and row height from the list's width and one real tile. */
  measure() {
    const style = getComputedStyle(this.list);
    const gap = parseFloat(style.rowGap) || 0;
    const minTile = parseFloat(getComputedStyle(document.documentElement).getPropertyValue("--tile")) || 168;
    const width = this.list.clientWidth;
    const columns = Math.max(1, Math.floor((width + gap) / (minTile + gap)));
    let probe = this.rendered.get(this.first);
    let temporary = false;
    if (!probe && this.assets.length) {
      probe = this.tile(this.assets[0], 0);
      this.list.append(probe);
      temporary = true;
    }
    const height = probe ? probe.getBoundingClientRect().height : 0;
    if (temporary) probe?.remove();
    this.layout = { columns, stride: height + gap, gap, width };
  }

  /** Render the rows the viewport shows (plus overscan); pad for the rest. */
  renderWindow() {
    if (!this.assets.length) {
      this.clearRendered();
      this.list.style.paddingTop = "";
      this.list.style.paddingBottom = "";
      return;
    }
    if (this.layout.width !== this.list.clientWidth || !this.layout.stride) this.measure();
    const { columns, stride } = this.layout;
    if (stride <= 0) {
      // Not laid out (the page is hidden): render a first page; a resize re-measures.
      this.layout.width = -1;
      this.place(0, Math.min(this.assets.length, 60) - 1);
      return;
    }
    const rows = Math.ceil(this.assets.length / columns);
    const top = this.list.getBoundingClientRect().top + window.scrollY;
    const visibleFrom = Math.floor((window.scrollY - top) / stride);
    const visibleTo = Math.floor((window.scrollY + window.innerHeight - top) / stride);
    const firstRow = Math.max(0, Math.min(rows - 1, visibleFrom - OVERSCAN_ROWS));
    const lastRow = Math.max(firstRow, Math.min(rows - 1, visibleTo + OVERSCAN_ROWS));
    const first = firstRow * columns;
    const last = Math.min(this.assets.length - 1, (lastRow + 1) * columns - 1);
    this.place(first, last);
    this.list.style.paddingTop = `${firstRow * stride}px`;
    this.list.style.paddingBottom = `${Math.max(0, (rows - 1 - lastRow) * stride)}px`;
    // The window reaching the last loaded row asks for more (the sentinel's observer alone
    // misses a scroll that ends while a page is on its way).
    if (lastRow >= rows - 1) this.callbacks.loadMore();
  }

  /** Make exactly tiles first..last rendered, keeping the ones already there (their
   * images and focus stay). @param {number} first @param {number} last */
  place(first, last) {
    if (last < this.first || first > this.last) this.clearRendered();
    for (let i = this.first; i < first && i <= this.last; i += 1) this.drop(i);
    for (let i = this.last; i > last && i >= this.first; i -= 1) this.drop(i);
    const keptFrom = Math.max(first, this.first);
    const keptTo = Math.min(last, this.last);
    const head = document.createDocumentFragment();
    const tail = document.createDocumentFragment();
    const hasKept = keptFrom <= keptTo && this.rendered.size > 0;
    for (let i = first; i <= last; i += 1) {
      if (hasKept && i >= keptFrom && i <= keptTo) continue;
      const tile = this.tile(this.assets[i], i);
      this.rendered.set(i, tile);
      (hasKept && i < keptFrom ? head : tail).append(tile);
    }
    this.list.prepend(head);
    this.list.append(tail);
    this.first = first;
    this.last = last;
  }

  /** @param {number} index */
  drop(index) {
    const tile = this.rendered.get(index);
    if (tile === document.activeElement) this.list.focus({ preventScroll: true });
    tile?.remove();
    this.rendered.delete(index);
  }

  /** @param {any} asset @param {number} index */
  tile(asset, index) {
    const selected = this.selected.has(asset.id);
    const hasThumb = asset.previews && Object.keys(asset.previews).length > 0;
    const picture = hasThumb
      ? h("img", {
        // The first screen loads at once (lazy loading waits for layout and idle time,
        // which delayed the first thumbnails by ~0.4 s); the rest as it nears the viewport.
        src: media.thumbnail(asset.id, "small"), alt: "", decoding: "async",
        loading: index < EAGER_TILES ? "eager" : "lazy", fetchpriority: index < EAGER_TILES ? "high" : "auto",
        width: 150, height: 150, onerror: (e) => e.target.replaceWith(placeholder(asset)),
      })
      : placeholder(asset);
    const tile = h("li", {
      class: `tile${selected ? " selected" : ""}${asset.status === "deleted" ? " deleted" : ""}`,
      role: "option", "aria-selected": String(selected), tabindex: index === this.focusIndex ? "0" : "-1",
      id: `tile-${asset.id}`, "data-index": String(index), "data-id": asset.id, "data-type": asset.type,
      "aria-label": `${asset.name} (${asset.type})`, "aria-posinset": String(index + 1),
      "aria-setsize": String(this.assets.length), draggable: "true",
    },
    h("div", { class: "thumb" }, picture),
    h("span", { class: "tile-check", "aria-hidden": "true" }),
    asset.favorite ? h("span", { class: "tile-star", html: icons.starFilled, title: "Favourite" }) : null,
    h("span", { class: "tile-name", text: asset.name }));
    this.decorate(asset, tile);
    return tile;
  }

  /** @param {number} index */
  tileAt(index) {
    return this.rendered.get(index) || null;
  }

  /** Focus a tile, scrolling it into view (and into the DOM) first. @param {number} index */
  focusTile(index) {
    if (!this.assets.length) return;
    const clamped = Math.max(0, Math.min(index, this.assets.length - 1));
    const previous = this.tileAt(this.focusIndex);
    if (previous) previous.tabIndex = -1;
    this.focusIndex = clamped;
    if (!this.rendered.has(clamped)) {
      const { columns, stride } = this.layout;
      const top = this.list.getBoundingClientRect().top + window.scrollY;
      window.scrollTo({ top: top + Math.floor(clamped / columns) * stride - window.innerHeight / 3 });
      this.renderWindow();
    }
    const tile = this.tileAt(clamped);
    if (!tile) return;
    tile.tabIndex = 0;
    tile.focus({ preventScroll: true });
    tile.scrollIntoView({ block: "nearest" });
    if (clamped >= this.assets.length - 8) this.callbacks.loadMore();
  }

  /** How many tiles a row holds (measured; the grid is responsive). */
  columns() {
    if (this.layout.width !== this.list.clientWidth) this.measure();
    return this.layout.columns;
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
      else this.callbacks.moved?.(this.assets[this.focusIndex]?.id);
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

  /** The selected ids, or the focused tile's when nothing is selected (drag sources). */
  selectedIds() {
    return [...this.selected];
  }

  paintSelection() {
    for (const tile of this.rendered.values()) {
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
