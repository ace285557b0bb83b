// The detail panel's relations: where the asset is used (references), its lineage
// (ancestors and derivatives as an indented tree with thumbnails), and signed share links.
// Each part hides itself where the server lacks the endpoint (404).
import { api, ApiError, media } from "./api.js";
import { field, message, openDialog } from "./dialog.js";
import { clear, formatDate, h, icons } from "./dom.js";
import { copyText } from "./provenance.js";

/** @param {unknown} error */
const missing = (error) => error instanceof ApiError && (error.status === 404 || error.status === 405);

/** "Where is this used": the asset's references. @param {HTMLElement} box @param {any} asset */
export async function renderReferences(box, asset) {
  let page;
  try {
    page = await api("GET", `/v1/assets/${encodeURIComponent(asset.id)}/references`);
  } catch (error) {
    if (!missing(error)) box.append(h("p", { class: "error", text: `References: ${message(error)}` }));
    return;
  }
  clear(box);
  box.append(h("section", { class: "section", "aria-labelledby": "references-title" },
    h("h3", { id: "references-title", text: `Where this is used (${page.total})` }),
    page.items.length
      ? h("ul", { class: "plain-list", id: "reference-list" }, ...page.items.map((r) => h("li", {},
        h("strong", { text: `${r.resource_type} ` }), h("code", { text: r.resource_id }),
        h("span", { class: "muted", text: ` · ${r.usage_type} · ${formatDate(r.created_at)}` }))))
      : h("p", { class: "muted", text: "Not used anywhere yet." })));
}

/**
 * Ancestors (what it was made from) and derivatives (what was made from it).
 * @param {HTMLElement} box @param {any} asset @param {(id: string) => void} open
 */
export async function renderLineage(box, asset, open) {
  let lineage;
  try {
    lineage = await api("GET", `/v1/assets/${encodeURIComponent(asset.id)}/lineage?depth=3`);
  } catch (error) {
    if (!missing(error)) box.append(h("p", { class: "error", text: `Lineage: ${message(error)}` }));
    return;
  }
  clear(box);
  if (!lineage.ancestors.length && !lineage.derivatives.length) return;
  box.append(h("section", { class: "section", "aria-labelledby": "lineage-title" },
    h("h3", { id: "lineage-title", text: "Lineage" }),
    lineage.ancestors.length ? tree("Made from", "lineage-ancestors", lineage.ancestors, asset.id, open) : null,
    lineage.derivatives.length ? tree("Made from this", "lineage-derivatives", lineage.derivatives, asset.id, open) : null));
}

/**
 * An indented tree: each node under the node it was reached through (`via`).
 * @param {string} title @param {string} id @param {any[]} nodes @param {string} root
 * @param {(id: string) => void} open
 */
function tree(title, id, nodes, root, open) {
  /** @type {Map<string, any[]>} */
  const children = new Map();
  for (const node of nodes) {
    const parent = node.via || root;
    children.set(parent, [...(children.get(parent) || []), node]);
  }
  const branch = (parent, seen) => {
    const kids = (children.get(parent) || []).filter((n) => !seen.has(n.asset.id));
    if (!kids.length) return null;
    return h("ul", { class: "lineage" }, ...kids.map((node) => {
      const a = node.asset;
      return h("li", {},
        h("button", { type: "button", class: "lineage-item", onclick: () => open(a.id),
          "aria-label": `Open ${a.name} (${node.relation})` },
        a.previews && Object.keys(a.previews).length
          ? h("img", { src: media.thumbnail(a.id, "small"), alt: "", loading: "lazy", width: 40, height: 40 })
          : h("span", { class: "placeholder", html: icons.file }),
        h("span", { class: "lineage-name", text: a.name }),
        h("span", { class: "badge", text: node.relation })),
        branch(a.id, new Set([...seen, a.id])));
    }));
  };
  return h("div", { id }, h("h4", { text: title }), branch(root, new Set([root])));
}

const LIFETIMES = [["3600", "1 hour"], ["86400", "1 day"], ["604800", "7 days"]];

/** The "Share link" dialog: a signed URL anyone can open until it expires. @param {any} asset */
export function shareLinkDialog(asset) {
  openDialog(`Share link for ${asset.name}`, (body) => {
    const expires = /** @type {HTMLSelectElement} */ (h("select", {},
      ...LIFETIMES.map(([value, text]) => h("option", { value, text, selected: value === "86400" }))));
    const disposition = /** @type {HTMLSelectElement} */ (h("select", {},
      h("option", { value: "inline", text: "Open in the browser" }),
      h("option", { value: "attachment", text: "Download" })));
    const result = h("div", { id: "signed-link", "aria-live": "polite" });
    body.append(h("form", { class: "share-form", onsubmit: async (event) => {
      event.preventDefault();
      clear(result);
      try {
        const link = await api("POST", `/v1/assets/${encodeURIComponent(asset.id)}/signed-url`, {
          json: { expires_in: Number(expires.value), disposition: disposition.value } });
        const url = new URL(link.url, window.location.origin).href;
        const input = /** @type {HTMLInputElement} */ (h("input", { type: "text", readonly: true, value: url,
          id: "signed-link-url", class: "mono" }));
        result.append(h("div", { class: "inline-form wide" },
          h("label", { for: "signed-link-url", class: "visually-hidden", text: "Signed link" }), input,
          h("button", { type: "button", class: "button", html: icons.copy, id: "copy-link",
            onclick: () => copyText(url, "Link") }, h("span", { text: "Copy" }))),
        h("p", { class: "muted small", text: `Anyone with this link can open the file until ${formatDate(link.expires_at)}.` }));
        input.select();
      } catch (error) {
        result.append(h("p", { class: "error", role: "alert", text: missing(error)
          ? "This server cannot make share links." : message(error) }));
      }
    } }, field("Expires after", expires), field("Opens as", disposition),
    h("button", { type: "submit", class: "primary", text: "Create link" })), result);
  });
}

/**
 * Ask before trashing an asset that is still used (the 409 of DELETE lists the references).
 * @param {any} problem @returns {Promise<boolean>} true to delete anyway (`?force=true`)
 */
export function confirmDeleteReferenced(problem) {
  return new Promise((resolve) => {
    let answer = false;
    openDialog("This asset is in use", (body, close) => {
      const refs = problem.references || [];
      body.append(h("p", { text: `It is used in ${problem.references_count} place(s). Deleting it removes those references; restoring it later does not bring them back.` }),
        h("ul", { class: "plain-list" }, ...refs.slice(0, 10).map((r) => h("li", {},
          h("strong", { text: `${r.resource_type} ` }), h("code", { text: r.resource_id }),
          h("span", { class: "muted", text: ` · ${r.usage_type}` })))),
        h("div", { class: "actions" },
          h("button", { type: "button", class: "button danger", id: "force-delete", text: "Delete anyway",
            onclick: () => { answer = true; close(); } }),
          h("button", { type: "button", class: "button", text: "Keep it", onclick: close })));
    }, { onClose: () => resolve(answer) });
  });
}
