// The page's chrome: the topbar's height, the visual-search modes a server offers, and the
// library tools (stats, trash, import from URL) shown only where the server has them.
import { getState, setState } from "./state.js";
import { hasStats } from "./stats.js";
import { hasTrash } from "./trash.js";

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** Grey out the visual modes, with the reason, when the server has no CLIP model. */
export async function checkVisual() {
  let reason = "";
  try {
    const ready = await fetch("/v1/ready").then((r) => r.json());
    if (ready.checks?.visual_search !== "available") {
      reason = "Semantic and hybrid search need a CLIP model, which this server does not have; keyword search works.";
    }
  } catch {
    reason = "The server's visual search status is unknown.";
  }
  for (const mode of ["semantic", "hybrid"]) {
    const input = /** @type {HTMLInputElement} */ ($(`mode-${mode}`));
    input.disabled = Boolean(reason);
    input.nextElementSibling?.setAttribute("title", reason);
  }
  $("visual-note").hidden = !reason;
  $("visual-note").textContent = reason;
  if (reason && getState().mode !== "keyword") setState({ mode: "keyword" }, { replace: true });
}

/** Show the library tools the server has (stats, trash, import from URL); hide the rest.
 * @param {import("./session.js").Session} session */
export async function showTools(session) {
  const writer = session.scopes.includes("write");
  $("url-import").hidden = !writer;
  const [stats, trash] = await Promise.all([hasStats(), hasTrash()]);
  $("stats-button").hidden = !stats;
  $("trash-button").hidden = !trash;
  $("library-tools").hidden = !stats && !trash && $("keys-button").hidden;
}

/** Keep --topbar equal to the header's real height (it wraps on narrow screens). */
export function trackTopbar() {
  const bar = /** @type {HTMLElement} */ (document.querySelector(".topbar"));
  new ResizeObserver(() => {
    document.documentElement.style.setProperty("--topbar", `${bar.offsetHeight}px`);
  }).observe(bar);
}
