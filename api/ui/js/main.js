// Wires the page: sign-in, search state ↔ URL, facets, grid, detail, uploads, bulk actions,
// folders, collections and (for admins) keys.
import { api, ApiError, setAssetScope } from "./api.js";
import { BULK_MAX_IDS, renderBulkBar } from "./bulk.js";
import { collectionById, loadCollections, renderCollectionBar, renderCollections, reorder } from "./collections.js";
import { DetailPanel } from "./detail.js";
import { enableTileDrag } from "./dragdrop.js";
import { checkVisual, showTools, trackTopbar } from "./chrome.js";
import { debounce, icons } from "./dom.js";
import { renderChips, renderFacets } from "./facets.js";
import { loadFolders, onFoldersChanged, renderFolders } from "./folders.js";
import { Grid } from "./grid.js";
import { openKeys } from "./keys.js";
import { emptyMessage, inCollectionOrder, rankedBySimilarity, runSearch } from "./search.js";
import { currentSession, signIn, signOut } from "./session.js";
import { openStats } from "./stats.js";
import { openTrash } from "./trash.js";
import { openUrlImport } from "./urlimport.js";
import { getState, onStateChange, resetState, sameQuery, setState } from "./state.js";
import { dropText, enableDrop, uploadFields, UploadQueue } from "./upload.js";

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const els = {
  signin: $("signin"), signinForm: /** @type {HTMLFormElement} */ ($("signin-form")),
  signinKey: /** @type {HTMLInputElement} */ ($("signin-key")), signinError: $("signin-error"),
  app: $("app"), q: /** @type {HTMLInputElement} */ ($("q")), searchForm: $("search-form"),
  sort: /** @type {HTMLSelectElement} */ ($("sort")), facets: $("facets"), chips: $("chips"),
  summary: $("summary"), results: $("results"), empty: $("empty"), error: $("search-error"),
  workspace: $("workspace"), bulkbar: $("bulkbar"),
  sidebar: $("sidebar"), sidebarToggle: $("sidebar-toggle"), collectionBar: $("collection-bar"),
  keys: $("keys-button"),
};

/** The collection shown (its document, with the caller's `role`), or null in the library. */
let shownCollection = /** @type {any} */ (null);

/** Paging state of the current result list. */
/** The facets of the last first page (re-rendered when folder names arrive). */
let lastFacets = {};

const paging = { cursor: /** @type {string|null} */ (null), loading: false, done: true,
  controller: /** @type {AbortController|null} */ (null), total: 0 };

const grid = new Grid(els.results, $("sentinel"), {
  open: (id) => setState({ asset: id }),
  // With the detail panel open, the arrows walk it along (one history entry for the panel).
  moved: (id) => { if (id && getState().asset) setState({ asset: id }, { replace: true }); },
  loadMore: () => loadMore(),
  selectionChanged: (ids) => renderBulkBar(els.bulkbar, ids, {
    clear: () => grid.clearSelection(),
    done: () => { grid.clearSelection(); refresh(); },
    // Every loaded tile selected and more matching: offer them all (Ctrl-A takes what is loaded).
    more: ids.length === grid.assets.length && paging.total > ids.length
      ? { total: paging.total, select: () => selectAllMatching() } : null,
    moveToStart: canReorder() ? () => reorderTo(grid.assets.map((a) => a.id).filter((id) => ids.includes(id))) : null,
  }, shownCollection, detail.writable),
});

/** Whether the shown collection is in its own order and the caller may change it. */
function canReorder() {
  return Boolean(shownCollection) && shownCollection.role !== "view" && inCollectionOrder(getState());
}

/** Put these items first in the shown collection, in this order (the rest follow). @param {string[]} ids */
async function reorderTo(ids) {
  try {
    await reorder(shownCollection.id, ids);
    grid.clearSelection();
    refresh();
  } catch (error) {
    showError(error);
  }
}

enableTileDrag(els.results, grid, { canReorder, reorder: reorderTo });

const detail = new DetailPanel($("detail"), {
  close: () => setState({ asset: "" }),
  open: (id) => setState({ asset: id }),
  changed: (asset) => {
    grid.update(asset);
    refreshFacets();
  },
});

/** Recount the facets after an edit (indexing is asynchronous, hence the delay); the
 * result list and its scroll position stay as they are. */
const refreshFacets = debounce(async () => {
  const state = getState();
  try {
    const page = await runSearch(state, null, new AbortController().signal);
    if (!sameQuery(state, getState())) return;
    lastFacets = page.facets;
    renderFacets(els.facets, page.facets, state.filters);
  } catch {
    // The next full refresh shows the counts; an edit must not raise a search error.
  }
}, 800);

const uploads = new UploadQueue($("uploads"), $("upload-list"), debounce(() => refresh(), 600));

/** Start the result list over for the current state (first page + facets). */
async function refresh() {
  const state = getState();
  paging.controller?.abort();
  const controller = new AbortController();
  paging.controller = controller;
  paging.loading = true;
  els.error.hidden = true;
  els.results.setAttribute("aria-busy", "true");
  try {
    const page = await runSearch(state, null, controller.signal);
    if (controller.signal.aborted) return;
    grid.reset();
    grid.append(page.items);
    paging.cursor = page.next_cursor;
    paging.done = !page.next_cursor;
    paging.total = page.total;
    lastFacets = page.facets;
    renderFacets(els.facets, page.facets, state.filters);
    renderChips(els.chips, state.filters);
    els.summary.textContent = `${page.total.toLocaleString()} asset${page.total === 1 ? "" : "s"}`;
    els.empty.hidden = page.total > 0;
    els.empty.textContent = emptyMessage(state, shownCollection?.role);
    markFirstResults();
    if (state.collection) showCollection(page.collection || shownCollection);
  } catch (error) {
    if (controller.signal.aborted) return;
    showError(error);
    paging.done = true;  // the cursor belonged to the previous list
    firstResultsShown();
  } finally {
    if (paging.controller === controller) {
      paging.loading = false;
      els.results.removeAttribute("aria-busy");
    }
  }
  if (!controller.signal.aborted) continuePaging();
}

let firstResultsMarked = false;
/** Resolves once the first results are on screen (later, lower-priority requests wait). */
let firstResultsShown = () => undefined;
const firstResults = new Promise((resolve) => { firstResultsShown = () => resolve(undefined); });

/** `performance.mark("first-results")` once the first result list is on screen with its
 * first thumbnail decoded (what benchmarks/bench_ui.py times from navigation). */
function markFirstResults() {
  if (firstResultsMarked) return;
  firstResultsMarked = true;
  const image = /** @type {HTMLImageElement|null} */ (els.results.querySelector("img"));
  const decoded = image ? image.decode().catch(() => undefined) : Promise.resolve();
  decoded.then(() => requestAnimationFrame(() => {
    performance.mark("first-results");
    firstResultsShown();
  }));
}

/** The page being loaded, for callers that wait for it. */
let nextPage = Promise.resolve();

/** The next page over the search cursor (infinite scroll); resolves once it is in. */
function loadMore() {
  if (paging.loading || paging.done || !paging.cursor) return nextPage;
  nextPage = fetchNextPage();
  return nextPage;
}

async function fetchNextPage() {
  const controller = paging.controller || new AbortController();
  paging.loading = true;
  try {
    const page = await runSearch(getState(), paging.cursor, controller.signal);
    if (controller.signal.aborted) return;
    grid.append(page.items);
    paging.cursor = page.next_cursor;
    paging.done = !page.next_cursor;
  } catch (error) {
    if (!controller.signal.aborted) showError(error);
    return;
  } finally {
    paging.loading = false;
  }
  continuePaging();
}

/** Load the remaining pages (up to what one bulk request takes), then select every tile. */
async function selectAllMatching() {
  while (!paging.done && grid.assets.length < BULK_MAX_IDS) {
    const loaded = grid.assets.length;
    await loadMore();
    if (grid.assets.length === loaded) break;  // a new search began, or the page failed
  }
  grid.selectRange(0, Math.min(grid.assets.length, BULK_MAX_IDS) - 1);
}

/** The sentinel's observer only reports changes: when it is still near the viewport after
 * a page arrived (a fast scroll, a tall screen), ask for the next page now. */
function continuePaging() {
  if (!paging.done && !paging.loading && grid.nearEnd()) loadMore();
}

function showError(error) {
  els.error.hidden = false;
  els.error.textContent = error instanceof ApiError
    ? `${error.title}${error.detail ? `: ${error.detail}` : ""}` : String(error);
}

/** The header of the shown collection (read from the server when the page lacks it).
 * @param {any} known */
async function showCollection(known) {
  const id = getState().collection;
  let collection = known && known.id === id ? known : collectionById(id);
  try {
    collection = await api("GET", `/v1/collections/${encodeURIComponent(id)}`);
  } catch {
    // The list's copy will do; the page itself already showed why the items failed.
  }
  if (getState().collection !== id) return;
  shownCollection = collection;
  const readOnly = Boolean(collection) && collection.role !== "owner";
  if (readOnly !== detail.readOnly) {
    detail.readOnly = readOnly;
    if (detail.asset) detail.render();
  }
  renderCollectionBar(els.collectionBar, collection, () => { loadCollections(); showCollection(null); });
}

/** Reflect the state in the controls, then fetch what changed. */
function render(state, previous) {
  if (!previous || state.collection !== previous.collection) {
    setAssetScope(state.collection);
    shownCollection = state.collection ? collectionById(state.collection) : null;
    // Until the collection is known, a shown collection is treated as someone else's.
    detail.readOnly = Boolean(state.collection) && shownCollection?.role !== "owner";
    renderCollectionBar(els.collectionBar, shownCollection, () => showCollection(null));
    renderCollections();
    document.body.classList.toggle("in-collection", Boolean(state.collection));
  }
  renderFolders();
  els.q.value = state.q;
  const radio = /** @type {HTMLInputElement|null} */ (document.querySelector(`input[name=mode][value=${state.mode}]`));
  if (radio && !radio.disabled) radio.checked = true;
  // Semantic and hybrid results are ranked by similarity, whatever the sort says: the
  // control shows that, and the chosen order (kept in the URL) returns with keyword.
  const ranked = rankedBySimilarity(state);
  els.sort.disabled = ranked;
  els.sort.value = ranked ? "" : state.sort;
  els.sort.title = ranked ? "Semantic and hybrid results are ranked by similarity" : "";
  if (!previous || !sameQuery(state, previous)) refresh();
  if (state.asset) detail.show(state.asset);
  else if (previous?.asset) {
    detail.hide();
    document.getElementById(`tile-${previous.asset}`)?.focus();
  }
}

function showSignIn(message = "") {
  // A dialog open when the session ended would stay modal over the sign-in form.
  for (const dialog of document.querySelectorAll("dialog[open]")) /** @type {HTMLDialogElement} */ (dialog).close();
  els.app.hidden = true;
  els.signin.hidden = false;
  els.signinError.hidden = !message;
  els.signinError.textContent = message;
  els.signinKey.value = "";
  els.signinKey.focus();
}

let started = false;

/** @param {import("./session.js").Session} session */
function startApp(session) {
  els.signin.hidden = true;
  els.app.hidden = false;
  // A key without the write scope reads only: no controls that would answer 403.
  detail.writable = session.scopes.includes("write");
  document.body.classList.toggle("read-only", !detail.writable);
  els.workspace.textContent = `${session.workspace}`;
  els.workspace.title = `Workspace ${session.workspace} — ${session.scopes.join(", ")}`;
  checkVisual();
  loadFolders().then(() => {
    renderFacets(els.facets, lastFacets, getState().filters);
    renderChips(els.chips, getState().filters);
    if (detail.asset && !detail.readOnly) detail.render();  // its folder picker needs the names
  });
  loadCollections();
  els.keys.hidden = !session.scopes.includes("admin");
  els.keys.onclick = () => openKeys(session.workspace);
  // The feature probes (GET /v1/stats is an aggregation) wait until the results show.
  firstResults.then(() => showTools(session));
  if (!started) {
    started = true;
    onStateChange(render);
  }
  render(getState(), null);
}

function wireControls() {
  trackTopbar();
  els.sidebarToggle.innerHTML = icons.menu;
  /** @type {HTMLElement} */ ($("uploads-close")).innerHTML = icons.close;
  els.signinForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = els.signinKey.value.trim();
    els.signinKey.value = "";
    try {
      startApp(await signIn(key));
    } catch (error) {
      showSignIn(error instanceof ApiError && error.status === 401
        ? "That API key was not accepted." : `Sign-in failed: ${error instanceof ApiError ? error.message : error}`);
    }
  });
  els.searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const mode = /** @type {HTMLInputElement} */ (document.querySelector("input[name=mode]:checked")).value;
    const before = getState();
    setState({ q: els.q.value.trim(), mode, asset: "" });
    // The same search again runs again: files added since, or an error that has passed.
    if (sameQuery(before, getState())) refresh();
  });
  // The box's clear button (and Esc in it) empty it without a submit: the query goes too.
  els.q.addEventListener("search", () => {
    if (!els.q.value && getState().q) setState({ q: "", asset: "" });
  });
  for (const radio of document.querySelectorAll("input[name=mode]")) {
    radio.addEventListener("change", () => {
      if (getState().q) setState({ mode: /** @type {HTMLInputElement} */ (radio).value });
    });
  }
  els.sort.addEventListener("change", () => setState({ sort: els.sort.value }));
  $("signout").addEventListener("click", async () => {
    await signOut().catch(() => undefined);
    resetState();
    grid.reset();
    detail.hide();
    showSignIn();
  });
  $("home-link").addEventListener("click", (event) => {
    event.preventDefault();
    setState({ q: "", mode: "keyword", filters: {}, sort: "", asset: "", collection: "", subfolders: false });
  });
  const picker = /** @type {HTMLInputElement} */ ($("file-picker"));
  picker.addEventListener("change", () => {
    if (picker.files?.length) uploads.add(picker.files, uploadFields());
    picker.value = "";
  });
  $("uploads-close").addEventListener("click", () => { $("uploads").hidden = true; });
  $("url-import").addEventListener("click", () => openUrlImport(() => refresh()));
  $("stats-button").addEventListener("click", () => openStats());
  $("trash-button").addEventListener("click", () => openTrash(() => { refresh(); loadFolders(); }));
  enableDrop($("dropzone"), (files) => {
    if (detail.writable) uploads.add(files, uploadFields());
  }, () => dropText(detail.writable));
  els.sidebarToggle.addEventListener("click", () => {
    const open = document.body.classList.toggle("sidebar-open");
    els.sidebarToggle.setAttribute("aria-expanded", String(open));
  });
  // The narrow-screen drawer closes on a click outside it or on Esc.
  const closeDrawer = () => {
    document.body.classList.remove("sidebar-open");
    els.sidebarToggle.setAttribute("aria-expanded", "false");
  };
  document.addEventListener("click", (event) => {
    const target = /** @type {Node} */ (event.target);
    if (document.body.classList.contains("sidebar-open") && !els.sidebar.contains(target) &&
        !els.sidebarToggle.contains(target)) closeDrawer();
  });
  onFoldersChanged(() => refresh());
  document.addEventListener("keydown", (event) => {
    if (document.querySelector("dialog[open]")) return;
    if (event.key === "Escape" && document.body.classList.contains("sidebar-open")) {
      closeDrawer();
      els.sidebarToggle.focus();
    } else if (event.key === "Escape" && getState().asset) {
      event.preventDefault();
      setState({ asset: "" });
    } else if (event.key === "Escape" && grid.selected.size) {
      grid.clearSelection();
    } else if (event.key === "/" && document.activeElement?.tagName !== "INPUT") {
      event.preventDefault();
      els.q.focus();
    }
  });
  window.addEventListener("session-expired", () => showSignIn("Your session ended. Sign in again."));
}

async function main() {
  wireControls();
  try {
    const session = await currentSession();
    if (session) startApp(session);
    else showSignIn();
  } catch (error) {
    showSignIn(`The server could not be reached: ${error instanceof ApiError ? error.message : error}`);
  }
}

main();
