// The detail panel's version history: upload a new version, download, roll back, delete,
// compare with the current one (/v1/assets/{id}/versions…). Hidden where the server has none.
import { api, ApiError, uploadFile } from "./api.js";
import { message } from "./dialog.js";
import { clear, formatBytes, formatDate, h, icons } from "./dom.js";
import { toast } from "./toast.js";

/**
 * Fill `box` with the asset's versions.
 * @param {HTMLElement} box
 * @param {any} asset
 * @param {(asset: any) => void} changed called with the fresh asset after a change
 */
export async function renderVersions(box, asset, changed) {
  const base = `/v1/assets/${encodeURIComponent(asset.id)}/versions`;
  let history;
  try {
    history = await api("GET", base);
  } catch (error) {
    // 404: a server without versions (or the asset is gone): nothing to show.
    if (!(error instanceof ApiError && error.status === 404)) {
      box.append(h("p", { class: "error", text: `Versions: ${message(error)}` }));
    }
    return;
  }
  const reload = async (fresh) => {
    const latest = fresh || await api("GET", `/v1/assets/${encodeURIComponent(asset.id)}`);
    changed(latest);
  };
  const diffBox = h("div", { id: "version-diff", "aria-live": "polite" });
  const list = h("ol", { class: "versions", id: "version-list", reversed: true });
  for (const version of history.items) {
    const label = `version ${version.number}`;
    const act = async (run, done) => {
      try {
        const result = await run();
        toast(done);
        await reload(result?.asset);
      } catch (error) {
        toast(message(error), { error: true });
      }
    };
    list.append(h("li", { class: `version${version.current ? " current" : ""}`, "data-version": String(version.number) },
      h("div", { class: "version-head" },
        h("strong", { text: `v${version.number}` }),
        version.current ? h("span", { class: "badge", text: "current" }) : null,
        h("span", { class: "muted small", text: `${formatDate(version.created_at)} · ${formatBytes(version.size_bytes)}` })),
      version.change_description ? h("p", { class: "small", text: version.change_description }) : null,
      version.rolled_back_from ? h("p", { class: "muted small", text: `rolled back from v${version.rolled_back_from}` }) : null,
      h("div", { class: "actions" },
        h("a", { class: "button small-button", href: `${base}/${version.number}/content`, download: "",
          "aria-label": `Download ${label}`, html: icons.download }),
        version.current ? null : h("button", { type: "button", class: "button small-button", text: "Compare",
          "aria-label": `Compare ${label} with the current version`,
          onclick: () => showDiff(diffBox, base, version.number, history.current) }),
        version.current ? null : h("button", { type: "button", class: "button small-button", text: "Roll back",
          "aria-label": `Roll back to ${label}`,
          onclick: () => act(() => api("POST", `${base}/${version.number}/rollback`, { json: {} }), `Rolled back to v${version.number}`) }),
        version.current ? null : h("button", { type: "button", class: "button small-button danger", text: "Delete",
          "aria-label": `Delete ${label}`,
          onclick: () => act(() => api("DELETE", `${base}/${version.number}`), `Version ${version.number} deleted`) }))));
  }
  const file = /** @type {HTMLInputElement} */ (h("input", { type: "file", id: "version-file", required: true }));
  const note = /** @type {HTMLInputElement} */ (h("input", { type: "text", id: "version-note", maxlength: "500",
    placeholder: "What changed (optional)", autocomplete: "off" }));
  const progress = /** @type {HTMLProgressElement} */ (h("progress", { max: "1", value: "0", hidden: true, "aria-label": "Upload progress" }));
  const form = h("form", { class: "stack version-form", onsubmit: async (event) => {
    event.preventDefault();
    const chosen = file.files?.[0];
    if (!chosen) return;
    progress.hidden = false;
    try {
      const made = await uploadFile(chosen, (f) => { progress.value = f; },
        { change_description: note.value }, base).promise;
      toast(`Version ${made.version.number} uploaded`);
      await reload(made.asset);
    } catch (error) {
      progress.hidden = true;
      toast(`New version refused: ${message(error)}`, { error: true });
    }
  } },
  h("label", { for: "version-file", text: "New version" }), file,
  h("label", { for: "version-note", class: "visually-hidden", text: "Change description" }), note,
  progress,
  h("button", { type: "submit", class: "button", text: "Upload new version" }));
  clear(box);
  box.append(h("section", { class: "section", "aria-labelledby": "versions-title" },
    h("h3", { id: "versions-title", text: `Versions (${history.items.length} kept, up to ${history.max_kept})` }),
    list, diffBox, form));
}

/** @param {HTMLElement} box @param {string} base @param {number} from @param {number} to */
async function showDiff(box, base, from, to) {
  clear(box);
  try {
    const diff = await api("GET", `${base}/diff?from=${from}&to=${to}`);
    const rows = diff.changes.map((c) => h("tr", {},
      h("th", { scope: "row", text: c.field }), h("td", { text: show(c.before) }), h("td", { text: show(c.after) })));
    box.append(h("h4", { text: `v${from} → v${to}` }), diff.changes.length
      ? h("div", { class: "table-scroll" }, h("table", { class: "diff" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Field" }), h("th", { scope: "col", text: `v${from}` }),
          h("th", { scope: "col", text: `v${to}` }))), h("tbody", {}, ...rows)))
      : h("p", { class: "muted", text: "No differences." }));
  } catch (error) {
    box.append(h("p", { class: "error", text: message(error) }));
  }
}

/** @param {unknown} value */
function show(value) {
  if (value === null || value === undefined) return "—";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}
