// The whole browsing state lives in the URL: back/forward and shared links just work.

/** Facet name → the search filter field that takes its bucket values (the API contract). */
export const FACET_FIELDS = {
  type: "type",
  tags: "tags",
  folder: "folder_id",
  model: "model",
  generator: "generator",
  sampler: "sampler",
  loras: "loras",
  provider: "provider",
  source: "source",
  created: "created_month",
  size: "size_range",
  cost: "cost_range",
  favorite: "favorite",
};

/** Every filter field the URL may carry (repeatable query parameters). */
export const FILTER_FIELDS = [...Object.values(FACET_FIELDS), "status"];

const MODES = new Set(["keyword", "semantic", "hybrid"]);

/**
 * `collection`: the id of the collection shown instead of the library ("" for the library);
 * `subfolders`: a folder filter includes the folders' subtrees.
 * @typedef {{q: string, mode: string, sort: string, asset: string, collection: string,
 *            subfolders: boolean, filters: Record<string, string[]>}} State
 */

/** @returns {State} */
export function readState(search = window.location.search) {
  const params = new URLSearchParams(search);
  /** @type {Record<string, string[]>} */
  const filters = {};
  for (const field of FILTER_FIELDS) {
    const values = params.getAll(field).filter((v) => v !== "");
    if (values.length) filters[field] = [...new Set(values)];
  }
  const mode = params.get("mode") || "keyword";
  return {
    q: params.get("q") || "",
    mode: MODES.has(mode) ? mode : "keyword",
    sort: params.get("sort") || "",
    asset: params.get("asset") || "",
    collection: params.get("collection") || "",
    subfolders: params.get("subfolders") === "1",
    filters,
  };
}

/** @param {State} state */
export function toQueryString(state) {
  const params = new URLSearchParams();
  if (state.collection) params.set("collection", state.collection);
  if (state.q) params.set("q", state.q);
  if (state.mode !== "keyword") params.set("mode", state.mode);
  for (const field of FILTER_FIELDS) {
    for (const value of state.filters[field] || []) params.append(field, value);
  }
  if (state.subfolders) params.set("subfolders", "1");
  if (state.sort) params.set("sort", state.sort);
  if (state.asset) params.set("asset", state.asset);
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** Listeners called with the new state after every change (push or back/forward). */
const listeners = new Set();

/** @param {(state: State, previous: State) => void} listener */
export function onStateChange(listener) {
  listeners.add(listener);
}

let current = readState();

/** @returns {State} */
export function getState() {
  return current;
}

/**
 * Change the state: a new history entry (or a replacement), then notify listeners.
 * @param {Partial<State>} changes
 * @param {{replace?: boolean}} [options]
 */
export function setState(changes, options = {}) {
  const previous = current;
  current = { ...current, ...changes, filters: changes.filters || current.filters };
  const url = `${window.location.pathname}${toQueryString(current)}`;
  if (url !== `${window.location.pathname}${window.location.search}`) {
    if (options.replace) window.history.replaceState(null, "", url);
    else window.history.pushState(null, "", url);
  }
  for (const listener of listeners) listener(current, previous);
}

/** Forget the browsing state, telling no one (signing out): whoever signs in next starts
 * from the whole library, not from the last person's filters and open asset. */
export function resetState() {
  current = readState("");
  window.history.replaceState(null, "", window.location.pathname);
}

/**
 * Toggle one value of a filter field (multi-select within a field).
 * @param {string} field
 * @param {string} value
 */
export function toggleFilter(field, value) {
  const values = new Set(current.filters[field] || []);
  if (values.has(value)) values.delete(value);
  else values.add(value);
  const filters = { ...current.filters, [field]: [...values] };
  if (!values.size) delete filters[field];
  setState({ filters });
}

/** Set one filter field to exactly these values (e.g. "filter by this model"). */
export function setFilter(field, values) {
  const filters = { ...current.filters, [field]: values };
  if (!values.length) delete filters[field];
  setState({ filters, asset: "" });
}

window.addEventListener("popstate", () => {
  const previous = current;
  current = readState();
  for (const listener of listeners) listener(current, previous);
});

/** True when two states ask for the same result list (the selected asset aside). */
export function sameQuery(a, b) {
  return toQueryString({ ...a, asset: "" }) === toQueryString({ ...b, asset: "" });
}
