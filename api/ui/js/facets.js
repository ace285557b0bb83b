// The facet sidebar (checkbox lists with counts) and the active-filter chips.
import { clear, h, icons } from "./dom.js";
import { FACETS } from "./search.js";
import { FACET_FIELDS, setState, toggleFilter } from "./state.js";

const SHOWN = 8;
/** Facets whose "show more" is open (kept across re-renders). */
const expanded = new Set();

/** Folder id → display path, filled in by the folder tree when the API offers folders. */
export const folderNames = new Map();

const MONTHS = new Intl.DateTimeFormat(undefined, { month: "short", year: "numeric", timeZone: "UTC" });

/**
 * How a facet value reads in the sidebar and the chips.
 * @param {string} facet
 * @param {string} value
 */
export function valueLabel(facet, value) {
  if (facet === "favorite") return value === "true" ? "Favourites" : "Not favourite";
  if (facet === "folder") return folderNames.get(value) || "Unknown folder";
  if (facet === "created" && /^\d{4}-\d{2}$/.test(value)) {
    // A month from an edited link may not exist (2026-13): shown as typed, to remove.
    const month = new Date(`${value}-01T00:00:00Z`);
    return Number.isNaN(month.getTime()) ? value : MONTHS.format(month);
  }
  if (facet === "cost") return COST_LABELS[value] || value;
  if (facet === "type" || facet === "source" || facet === "status") {
    return value.charAt(0).toUpperCase() + value.slice(1);
  }
  return value;
}

/** The cost facet's fixed ranges (the API's `cost_range` values), as a person reads them. */
const COST_LABELS = { 0: "Free", "<0.01": "Under 0.01", "0.01-0.1": "0.01 – 0.10", "0.1-1": "0.10 – 1",
  "1-10": "1 – 10", ">=10": "10 or more" };

const fieldToFacet = Object.fromEntries(Object.entries(FACET_FIELDS).map(([f, v]) => [v, f]));
const labels = Object.fromEntries(FACETS);

/**
 * Render every facet with its buckets. Selected values stay visible even at count 0.
 * @param {HTMLElement} root
 * @param {Record<string, {value: string, count: number}[]>} facets
 * @param {Record<string, string[]>} selected
 */
export function renderFacets(root, facets, selected) {
  clear(root);
  for (const [facet, label] of FACETS) {
    const field = FACET_FIELDS[facet];
    const chosen = new Set(selected[field] || []);
    const buckets = [...(facets[facet] || [])];
    for (const value of chosen) {
      if (!buckets.some((b) => b.value === value)) buckets.push({ value, count: 0 });
    }
    if (!buckets.length) continue;
    const open = expanded.has(facet);
    const visible = open ? buckets : buckets.slice(0, SHOWN);
    for (const value of chosen) {
      const bucket = buckets.find((b) => b.value === value);
      if (bucket && !visible.includes(bucket)) visible.push(bucket);
    }
    const list = h("ul", { class: "facet-values" });
    for (const bucket of visible) {
      const id = `facet-${facet}-${cssId(bucket.value)}`;
      list.append(h("li", {},
        h("input", {
          type: "checkbox", id, checked: chosen.has(bucket.value),
          "data-facet": facet, "data-value": bucket.value,
          onchange: () => toggleFilter(field, bucket.value),
        }),
        h("label", { for: id, title: valueLabel(facet, bucket.value) },
          h("span", { class: "facet-label", text: valueLabel(facet, bucket.value) }),
          h("span", { class: "count", text: bucket.count.toLocaleString() }))));
    }
    const group = h("fieldset", { class: "facet", "data-facet": facet },
      h("legend", { text: label }), list);
    if (buckets.length > SHOWN) {
      group.append(h("button", {
        type: "button", class: "link", "aria-expanded": String(open),
        text: open ? "Show fewer" : `Show all ${buckets.length}`,
        onclick: () => {
          if (open) expanded.delete(facet); else expanded.add(facet);
          renderFacets(root, facets, selected);
        },
      }));
    }
    root.append(group);
  }
}

/**
 * The active filters as removable chips.
 * @param {HTMLElement} root
 * @param {Record<string, string[]>} selected
 */
export function renderChips(root, selected) {
  clear(root);
  for (const [field, values] of Object.entries(selected)) {
    const facet = fieldToFacet[field] || field;
    for (const value of values) {
      const text = `${labels[facet] || facet}: ${valueLabel(facet, value)}`;
      root.append(h("li", { class: "chip" },
        h("span", { text }),
        h("button", {
          type: "button", class: "chip-remove", "aria-label": `Remove filter ${text}`,
          html: icons.close, onclick: () => toggleFilter(field, value),
        })));
    }
  }
  if (root.childElementCount > 1) {
    root.append(h("li", { class: "chip-clear" }, h("button", {
      type: "button", class: "link", text: "Clear all", "aria-label": "Clear all filters",
      onclick: () => setState({ filters: {}, asset: "" }),
    })));
  }
}

/** @param {string} value */
function cssId(value) {
  return Array.from(value).map((c) => (/[a-zA-Z0-9_-]/.test(c) ? c : `_${c.codePointAt(0)}`)).join("");
}
