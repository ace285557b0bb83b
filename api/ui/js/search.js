// Building and running searches: disjunctive facets (multi-select within a field).
import { api, ApiError } from "./api.js";
import { FACET_FIELDS } from "./state.js";

/** The facets the sidebar shows, in order, with their labels. */
export const FACETS = [
  ["type", "Type"], ["favorite", "Favourite"], ["tags", "Tags"], ["folder", "Folder"],
  ["model", "Model"], ["generator", "Generator"], ["sampler", "Sampler"], ["loras", "LoRA"],
  ["provider", "Provider"], ["source", "Source"], ["cost", "Cost"], ["created", "Created"], ["size", "Size"],
];

export const PAGE_SIZE = 60;

// Set once the server refuses the newer request fields (an older server without
// `facet_mode`): the page then computes disjunctive counts itself, one request per field.
let legacy = false;
const LEGACY_FACETS = new Set(["type", "tags", "folder", "model", "generator", "sampler",
  "loras", "provider", "source", "created", "size"]);

/**
 * The `filters` object of a search body from the URL's filter values.
 * @param {Record<string, string[]>} selected
 */
function filtersBody(selected) {
  /** @type {Record<string, any>} */
  const filters = {};
  for (const [field, values] of Object.entries(selected)) {
    if (!values.length) continue;
    if (field === "favorite") {
      // Both values selected means no restriction.
      if (values.length === 1) filters.favorite = values[0] === "true";
    } else if (field === "folder_id") {
      filters.folder_id = values;
    } else {
      filters[field] = values;
    }
  }
  if (legacy) return legacyFilters(filters);
  return filters;
}

const SIZE_BOUNDS = {
  "<100KB": [null, 100 * 1024], "100KB-1MB": [100 * 1024, 1 << 20],
  "1MB-10MB": [1 << 20, 10 << 20], "10MB-100MB": [10 << 20, 100 << 20], ">=100MB": [100 << 20, null],
};

/** Older servers take ranges, not months and size labels: the span of the selection. */
function legacyFilters(filters) {
  const out = { ...filters };
  delete out.favorite;
  const months = out.created_month;
  delete out.created_month;
  if (months && months.length) {
    const sorted = [...months].sort();
    out.created_from = `${sorted[0]}-01T00:00:00Z`;
    const [year, month] = sorted[sorted.length - 1].split("-").map(Number);
    const next = month === 12 ? `${year + 1}-01` : `${year}-${String(month + 1).padStart(2, "0")}`;
    out.created_to = `${next}-01T00:00:00Z`;
  }
  const sizes = out.size_range;
  delete out.size_range;
  if (sizes && sizes.length) {
    const bounds = sizes.map((label) => SIZE_BOUNDS[label]).filter(Boolean);
    const lows = bounds.map((b) => b[0]);
    const highs = bounds.map((b) => b[1]);
    if (!lows.includes(null)) out.size_min = Math.min(...lows);
    if (!highs.includes(null)) out.size_max = Math.max(...highs) - 1;
  }
  return out;
}

/**
 * @param {import("./state.js").State} state
 * @param {string|null} cursor
 * @param {boolean} withFacets
 */
function body(state, cursor, withFacets) {
  const names = FACETS.map(([name]) => name).filter((n) => !legacy || LEGACY_FACETS.has(n));
  /** @type {Record<string, any>} */
  const request = {
    q: state.q || null,
    mode: state.q ? state.mode : "keyword",
    filters: { ...filtersBody(state.filters),
      ...(state.subfolders && state.filters.folder_id?.length ? { include_subfolders: true } : {}) },
    facets: withFacets ? names : [],
    limit: PAGE_SIZE,
    cursor,
  };
  if (state.sort && !rankedBySimilarity(state)) request.sort = state.sort;
  if (!legacy) request.facet_mode = "disjunctive";
  return request;
}

/**
 * One page of results (and, for the first page, the facet counts).
 * @param {import("./state.js").State} state
 * @param {string|null} cursor
 * @param {AbortSignal} signal
 */
export async function runSearch(state, cursor, signal) {
  if (state.collection) return runCollection(state, cursor, signal);
  if (legacy) return runLegacy(state, cursor, signal);
  try {
    const page = await api("POST", "/v1/search", { json: body(state, cursor, !cursor), signal });
    return page;
  } catch (error) {
    if (!legacy && error instanceof ApiError && error.status === 422 && olderServer(error.problem)) {
      legacy = true;
      return runLegacy(state, cursor, signal);
    }
    throw error;
  }
}

/**
 * Whether a 422 says the server lacks a field or facet the page sends (an older server),
 * not that it refused a value of one it knows (`size_range: ["huge"]` from an edited link
 * is the user's to mend, and must not switch this page to the fallback for good).
 * @param {any} problem
 */
function olderServer(problem) {
  const errors = Array.isArray(problem?.errors) ? problem.errors : [];
  return errors.some((e) => /extra inputs are not permitted/i.test(String(e?.msg)) ||
    (Array.isArray(e?.loc) && e.loc[0] === "body" && e.loc[1] === "facets"));
}

/** Disjunctive counts by hand: for each field with a selection, count without it. */
async function runLegacy(state, cursor, signal) {
  const page = await api("POST", "/v1/search", { json: body(state, cursor, !cursor), signal });
  if (cursor) return page;
  const fieldToFacet = Object.fromEntries(Object.entries(FACET_FIELDS).map(([f, v]) => [v, f]));
  const recount = Object.keys(state.filters)
    .map((field) => fieldToFacet[field])
    .filter((facet) => facet && LEGACY_FACETS.has(facet));
  await Promise.all(recount.map(async (facet) => {
    const filters = { ...state.filters };
    delete filters[FACET_FIELDS[facet]];
    const request = { ...body({ ...state, filters }, null, false), facets: [facet], limit: 1 };
    const counted = await api("POST", "/v1/search", { json: request, signal });
    page.facets[facet] = counted.facets[facet] || [];
  }));
  return page;
}

/** True when the results are ranked by similarity (a query in semantic or hybrid mode),
 * where the API applies no sort. @param {import("./state.js").State} state */
export function rankedBySimilarity(state) {
  return Boolean(state.q) && state.mode !== "keyword";
}

/** True when a collection is shown in its own order (no query, filter or sort). */
export function inCollectionOrder(state) {
  return Boolean(state.collection) && !state.q && !state.sort && !Object.keys(state.filters).length;
}

/**
 * A page of a collection: its items in collection order, or a search within it
 * (`POST /v1/collections/{id}/search`) once there is a query, filter or sort.
 * @param {import("./state.js").State} state
 * @param {string|null} cursor
 * @param {AbortSignal} signal
 */
async function runCollection(state, cursor, signal) {
  const base = `/v1/collections/${encodeURIComponent(state.collection)}`;
  const request = body({ ...state, subfolders: false }, cursor, !cursor);
  // A collection spans folders, and a grantee cannot name the owner's: no folder facet.
  request.facets = request.facets.filter((name) => name !== "folder");
  if (!inCollectionOrder(state)) return api("POST", `${base}/search`, { json: request, signal });
  const items = api("GET", `${base}/items?limit=${PAGE_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { signal });
  // The ordered listing has no counts: one small search gives the total and the facets.
  const counted = cursor ? null : api("POST", `${base}/search`, { json: { ...request, limit: 1 }, signal });
  const [page, counts] = await Promise.all([items, counted]);
  return {
    items: page.items.map((item) => ({ asset: item.asset, score: 0 })),
    next_cursor: page.next_cursor,
    total: counts ? counts.total : page.items.length,
    facets: counts ? counts.facets : {},
    collection: page.collection,
  };
}

/**
 * What an empty result list means: nothing yet, or nothing matching.
 * @param {import("./state.js").State} state
 * @param {string|undefined} role the caller's role in the shown collection
 */
export function emptyMessage(state, role) {
  const filtered = Object.keys(state.filters).length > 0;
  if (!state.q && !filtered) {
    if (!state.collection) return "No assets yet. Upload files, or drop them anywhere on this page.";
    return role === "owner"
      ? "This collection is empty. Select assets in the library and use “Add to collection…”."
      : "This collection is empty.";
  }
  const words = state.q ? ` “${state.q}”` : "";
  return `No assets match${words}${filtered ? " with these filters" : ""}.` +
    (filtered ? " Remove a filter to see more." : " Try other words.");
}
