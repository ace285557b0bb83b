// The asset detail panel: preview by type, provenance, tags and folder editing (If-Match,
// with a 412 explained and the edit kept), favourite, similar, duplicates, delete/restore.
import { api, ApiError, assetPath, media } from "./api.js";
import { clear, h, icons } from "./dom.js";
import { folderNames } from "./facets.js";
import { provenanceSection, technicalSection } from "./provenance.js";
import { confirmDeleteReferenced, renderLineage, renderReferences, shareLinkDialog } from "./relations.js";
import { toast } from "./toast.js";
import { renderVersions } from "./versions.js";

/**
 * An edit the user made, kept as a change to re-apply on a fresh version after a 412.
 * @typedef {{label: string, patch: (asset: any) => Record<string, any>}} Edit
 */

export class DetailPanel {
  /**
   * @param {HTMLElement} root
   * @param {{close: () => void, open: (id: string) => void,
   *          changed: (asset: any) => void}} callbacks
   */
  constructor(root, callbacks) {
    this.root = root;
    this.callbacks = callbacks;
    /** @type {any} */
    this.asset = null;
    this.token = 0;
    /** Read-only: an asset seen through a collection shared with the caller. */
    this.readOnly = false;
    /** False for a key without the write scope: its own assets, shown but not edited. */
    this.writable = true;
  }

  /** @param {string} id */
  async show(id) {
    const token = ++this.token;
    this.root.hidden = false;
    document.body.classList.add("detail-open");
    if (!this.asset || this.asset.id !== id) {
      clear(this.root);
      this.root.append(h("p", { class: "muted pad", text: "Loading…" }));
    }
    try {
      const asset = await api("GET", assetPath(id));
      if (token !== this.token) return;
      this.asset = asset;
      this.render();
    } catch (error) {
      if (token !== this.token) return;
      clear(this.root);
      this.root.append(this.header("Not found"),
        h("p", { class: "error pad", role: "alert", text: error instanceof ApiError ? error.message : String(error) }));
    }
  }

  hide() {
    this.token += 1;
    this.asset = null;
    this.root.hidden = true;
    document.body.classList.remove("detail-open");
    clear(this.root);
  }

  /** @param {string} title */
  header(title, asset = null) {
    return h("header", { class: "detail-head" },
      h("h2", { id: "detail-title", text: title }),
      asset && !this.readOnly && this.writable ? h("button", {
        type: "button", class: `icon-button star${asset.favorite ? " on" : ""}`,
        "aria-pressed": String(Boolean(asset.favorite)), "aria-label": "Favourite",
        html: asset.favorite ? icons.starFilled : icons.star,
        onclick: () => this.apply({ label: asset.favorite ? "unfavourite" : "favourite",
          patch: () => ({ favorite: !asset.favorite }) }),
      }) : null,
      h("button", {
        type: "button", class: "icon-button", id: "detail-close", "aria-label": "Close (Esc)",
        html: icons.close, onclick: () => this.callbacks.close(),
      }));
  }

  render() {
    const asset = this.asset;
    const focused = document.activeElement?.id;
    clear(this.root);
    const parts = [
      this.header(asset.name, asset),
      h("div", { id: "conflict", class: "conflict", role: "alert", hidden: true }),
      preview(asset),
      this.readOnly ? downloadOnly(asset) : this.actions(asset),
      h("div", { id: "related" }),
      provenanceSection(asset),
      this.readOnly || !this.writable ? readOnlyTags(asset) : this.tagsSection(asset),
      this.readOnly || !this.writable ? null : this.folderSection(asset),
      h("div", { id: "lineage-box" }),
      h("div", { id: "references-box" }),
      h("div", { id: "versions-box" }),
      technicalSection(asset),
    ];
    this.root.append(...parts.filter(Boolean));
    if (focused) document.getElementById(focused)?.focus();
    if (!this.readOnly) this.renderRelations(asset);
  }

  /** The parts loaded after the panel shows: lineage, references, versions. @param {any} asset */
  renderRelations(asset) {
    const box = (id) => /** @type {HTMLElement} */ (this.root.querySelector(`#${id}`));
    renderLineage(box("lineage-box"), asset, (id) => this.callbacks.open(id));
    renderReferences(box("references-box"), asset);
    if (!this.writable) return;  // the history's actions (upload, roll back) are writes
    renderVersions(box("versions-box"), asset, (fresh) => {
      this.asset = fresh;
      this.render();
      this.callbacks.changed(fresh);
    });
  }

  /** @param {any} asset */
  actions(asset) {
    const deleted = asset.status === "deleted";
    return h("div", { class: "actions" },
      downloadLink(asset),
      h("button", { type: "button", class: "button", id: "find-similar", html: icons.similar,
        onclick: () => this.similar() }, h("span", { text: "Find similar" })),
      h("button", { type: "button", class: "button", id: "find-duplicates",
        onclick: () => this.duplicates(), text: "Duplicates" }),
      deleted ? null : h("button", { type: "button", class: "button", id: "share-link",
        onclick: () => shareLinkDialog(asset), text: "Share link…" }),
      !this.writable ? null : deleted
        ? h("button", { type: "button", class: "button", id: "restore", html: icons.restore,
          onclick: () => this.lifecycle("restore") }, h("span", { text: "Restore" }))
        : h("button", { type: "button", class: "button danger", id: "delete", html: icons.trash,
          onclick: () => this.lifecycle("delete") }, h("span", { text: "Delete" })),
      deleted ? h("p", { class: "notice", text: "This asset is in the trash." }) : null,
      asset.status === "failed" ? h("p", { class: "error", role: "status", id: "index-error",
        text: `Indexing gave up: ${asset.error || "see the indexer log"}` }) : null);
  }

  /** @param {any} asset */
  tagsSection(asset) {
    const input = h("input", { id: "tag-input", type: "text", placeholder: "Add a tag…",
      autocomplete: "off", maxlength: "100" });
    const add = (event) => {
      event.preventDefault();
      const tags = input.value.split(",").map((t) => t.trim()).filter(Boolean);
      if (!tags.length) return;
      this.apply({ label: `add tag ${tags.join(", ")}`,
        patch: (fresh) => ({ tags: [...new Set([...fresh.tags, ...tags])] }) });
    };
    return h("section", { class: "section", "aria-labelledby": "tags-title" },
      h("h3", { id: "tags-title", text: "Tags" }),
      h("ul", { class: "chips", id: "tag-list" }, ...asset.tags.map((tag) => h("li", { class: "chip" },
        h("span", { text: tag }),
        h("button", { type: "button", class: "chip-remove", "aria-label": `Remove tag ${tag}`,
          html: icons.close, onclick: () => this.apply({ label: `remove tag ${tag}`,
            patch: (fresh) => ({ tags: fresh.tags.filter((t) => t !== tag) }) }) })))),
      h("form", { class: "inline-form", onsubmit: add },
        h("label", { for: "tag-input", class: "visually-hidden", text: "New tag" }), input,
        h("button", { type: "submit", class: "button", text: "Add" })));
  }

  /** @param {any} asset */
  folderSection(asset) {
    if (!folderNames.size && !asset.folder_id) return null;
    const select = h("select", { id: "folder-select",
      onchange: () => this.apply({ label: "move to another folder",
        patch: () => ({ folder_id: select.value || null }) }) },
    h("option", { value: "", text: "No folder" }),
    ...[...folderNames].map(([id, name]) => h("option", { value: id, text: name, selected: id === asset.folder_id })));
    return h("section", { class: "section", "aria-labelledby": "folder-title" },
      h("h3", { id: "folder-title" }, h("label", { for: "folder-select", text: "Folder" })), select);
  }

  /**
   * Save an edit with If-Match on the revision shown. A 412 means someone else changed
   * the asset: say so, and offer to re-apply this edit on the fresh version.
   * @param {Edit} edit
   */
  async apply(edit, asset = this.asset) {
    try {
      const updated = await api("PATCH", `/v1/assets/${encodeURIComponent(asset.id)}`, {
        json: edit.patch(asset), headers: { "If-Match": `"r${asset.revision}"` },
      });
      this.asset = updated;
      this.render();
      this.callbacks.changed(updated);
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) this.conflict(edit);
      else toast(error instanceof ApiError ? `Not saved: ${error.message}` : String(error), { error: true });
    }
  }

  /** @param {Edit} edit */
  async conflict(edit) {
    const fresh = await api("GET", `/v1/assets/${encodeURIComponent(this.asset.id)}`);
    this.asset = fresh;
    this.render();
    this.callbacks.changed(fresh);
    const box = /** @type {HTMLElement} */ (this.root.querySelector("#conflict"));
    box.hidden = false;
    box.append(
      h("p", {}, h("strong", { text: "Someone else changed this asset while you were editing. " }),
        `Your edit (${edit.label}) was not saved; the panel now shows the latest version.`),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "button primary", id: "reapply", text: "Re-apply my edit",
          onclick: () => this.apply(edit, fresh) }),
        h("button", { type: "button", class: "button", text: "Discard it",
          onclick: () => { box.hidden = true; clear(box); } })));
    /** @type {HTMLElement} */ (box.querySelector("#reapply")).focus();
  }

  /** @param {"delete"|"restore"} action */
  async lifecycle(action) {
    const id = encodeURIComponent(this.asset.id);
    try {
      if (action === "delete") {
        if (!await this.trash(id)) return;
      } else {
        await api("POST", `/v1/assets/${id}/restore`);
      }
      const fresh = await api("GET", `/v1/assets/${id}`);
      this.asset = fresh;
      this.render();
      this.callbacks.changed(fresh);
      toast(action === "delete" ? "Moved to the trash" : "Restored");
      document.getElementById(action === "delete" ? "restore" : "delete")?.focus();
    } catch (error) {
      toast(error instanceof ApiError ? error.message : String(error), { error: true });
    }
  }

  /** DELETE; an asset still in use (409 with its references) is trashed only if confirmed.
   * @param {string} id (encoded) @returns {Promise<boolean>} whether it went to the trash */
  async trash(id) {
    try {
      await api("DELETE", `/v1/assets/${id}`);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409 && error.problem.references_count)) throw error;
      if (!await confirmDeleteReferenced(error.problem)) return false;
      await api("DELETE", `/v1/assets/${id}?force=true`);
    }
    return true;
  }

  async similar() {
    await this.related("Similar", async () => {
      const page = await api("GET", `/v1/assets/${encodeURIComponent(this.asset.id)}/similar?limit=12`);
      return page.items.map((item) => item.asset);
    });
  }

  async duplicates() {
    await this.related("Duplicates", async () => {
      const found = await api("GET", `/v1/assets/${encodeURIComponent(this.asset.id)}/duplicates`);
      return [...found.exact, ...found.near.map((n) => n.asset)];
    });
  }

  /**
   * Show a strip of related assets, or the server's reason when there are none to give
   * (e.g. 503: no embedding model).
   * @param {string} title
   * @param {() => Promise<any[]>} load
   */
  async related(title, load) {
    const box = /** @type {HTMLElement} */ (this.root.querySelector("#related"));
    clear(box);
    const section = h("section", { class: "section related", "aria-live": "polite", "data-related": title.toLowerCase() },
      h("h3", { text: title }));
    box.append(section);
    try {
      const assets = await load();
      if (!assets.length) {
        section.append(h("p", { class: "muted", text: `No ${title.toLowerCase()} assets found.` }));
        return;
      }
      section.append(h("ul", { class: "strip" }, ...assets.map((a) => h("li", {},
        h("button", { type: "button", class: "strip-item", title: a.name, "aria-label": `Open ${a.name}`,
          onclick: () => this.callbacks.open(a.id) },
        a.previews && Object.keys(a.previews).length
          ? h("img", { src: media.thumbnail(a.id, "small"), alt: "", loading: "lazy" })
          : h("span", { class: "placeholder", html: icons.file }))))));
    } catch (error) {
      const unavailable = error instanceof ApiError && error.status === 503;
      section.append(h("p", { class: unavailable ? "notice" : "error", role: "status",
        text: error instanceof ApiError ? `${error.title}: ${error.detail || error.message}` : String(error) }));
    }
  }
}

/** @param {any} asset */
function downloadLink(asset) {
  return h("a", { class: "button", href: media.content(asset.id), download: asset.name, html: icons.download },
    h("span", { text: "Download" }));
}

/** @param {any} asset */
function downloadOnly(asset) {
  return h("div", { class: "actions" }, downloadLink(asset));
}

/** @param {any} asset */
function readOnlyTags(asset) {
  if (!asset.tags.length) return null;
  return h("section", { class: "section", "aria-labelledby": "tags-title" },
    h("h3", { id: "tags-title", text: "Tags" }),
    h("ul", { class: "chips", id: "tag-list" }, ...asset.tags.map((tag) => h("li", { class: "chip" }, h("span", { text: tag })))));
}

/**
 * The preview for the asset's type.
 * @param {any} asset
 */
function preview(asset) {
  const hasThumb = asset.previews && Object.keys(asset.previews).length > 0;
  const poster = hasThumb ? media.thumbnail(asset.id, "medium") : undefined;
  let body;
  if (asset.type === "image" || asset.type === "logo") {
    const img = h("img", { src: asset.mime === "image/svg+xml" ? poster : media.content(asset.id),
      alt: asset.name, class: "preview-image" });
    body = h("button", { type: "button", class: "zoom", "aria-label": "Zoom", "aria-pressed": "false",
      onclick: (event) => {
        const button = /** @type {HTMLElement} */ (event.currentTarget);
        const on = button.classList.toggle("zoomed");
        button.setAttribute("aria-pressed", String(on));
      } }, img);
  } else if (asset.type === "video") {
    body = h("video", { src: media.content(asset.id), poster, controls: true, preload: "metadata" });
  } else if (asset.type === "audio") {
    body = h("div", { class: "audio" },
      poster ? h("img", { src: poster, alt: "Waveform", class: "waveform" }) : null,
      h("audio", { src: media.content(asset.id), controls: true, preload: "metadata" }));
  } else if (asset.type === "text") {
    body = h("pre", { class: "text-preview", text: "Loading…" });
    fetch(media.content(asset.id), { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(r.statusText))))
      .then((text) => { body.textContent = text.slice(0, 100_000); })
      .catch(() => { body.textContent = "The text could not be loaded."; });
  } else if (poster) {
    body = h("img", { src: poster, alt: `${asset.name} specimen`, class: "preview-image" });
  } else {
    body = h("span", { class: "placeholder large", html: icons.file });
  }
  return h("div", { class: `preview preview-${asset.type}` }, body);
}
