// The trash screen: trashed assets (newest first) with restore and delete-for-good, and
// "Empty trash" (/v1/trash). Its button is hidden where the server has no trash routes.
import { api, ApiError, media } from "./api.js";
import { message, openDialog } from "./dialog.js";
import { clear, formatBytes, formatDate, h, icons } from "./dom.js";
import { toast } from "./toast.js";

/** Whether the server has the trash routes (a 404/405 hides the button). */
export async function hasTrash() {
  try {
    await api("GET", "/v1/trash?limit=1");
    return true;
  } catch (error) {
    return !(error instanceof ApiError && (error.status === 404 || error.status === 405));
  }
}

/** Open the trash. @param {() => void} changed called after a restore or purge */
export function openTrash(changed) {
  openDialog("Trash", (body) => {
    const summary = h("p", { class: "muted", id: "trash-summary", "aria-live": "polite" });
    const list = h("ul", { class: "trash-list", id: "trash-list" });
    const more = h("button", { type: "button", class: "button", text: "Show more", hidden: true });
    const empty = h("button", { type: "button", class: "button danger", id: "trash-empty", text: "Empty trash" });
    let cursor = null;

    const load = async (reset) => {
      try {
        const page = await api("GET", `/v1/trash?limit=50${!reset && cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
        if (reset) clear(list);
        cursor = page.next_cursor;
        more.hidden = !cursor;
        empty.hidden = page.total === 0;
        summary.textContent = page.total
          ? `${page.total} asset${page.total === 1 ? "" : "s"} in the trash; each is deleted for good ${page.retention_days} days after it was trashed.`
          : "The trash is empty.";
        for (const item of page.items) list.append(row(item));
      } catch (error) {
        summary.textContent = message(error);
      }
    };

    /** @param {{asset: any, purge_at: string|null}} item */
    const row = ({ asset, purge_at: purgeAt }) => {
      const id = encodeURIComponent(asset.id);
      const act = async (run, done) => {
        try {
          await run();
          toast(done);
          changed();
          load(true);
        } catch (error) {
          toast(message(error), { error: true });
        }
      };
      return h("li", { class: "trash-item", "data-id": asset.id },
        asset.previews && Object.keys(asset.previews).length
          ? h("img", { src: media.thumbnail(asset.id, "small"), alt: "", width: 56, height: 56, loading: "lazy" })
          : h("span", { class: "placeholder", html: icons.file }),
        h("div", { class: "trash-meta" },
          h("strong", { class: "trash-name", text: asset.name }),
          h("span", { class: "muted small", text: `${formatBytes(asset.size_bytes)} · trashed ${formatDate(asset.deleted_at || asset.updated_at)}` +
            (purgeAt ? ` · deleted for good ${formatDate(purgeAt)}` : "") })),
        h("div", { class: "actions" },
          h("button", { type: "button", class: "button", html: icons.restore, "aria-label": `Restore ${asset.name}`,
            onclick: () => act(() => api("POST", `/v1/trash/${id}/restore?wait=true`), `Restored ${asset.name}`) },
          h("span", { text: "Restore" })),
          h("button", { type: "button", class: "button danger", "aria-label": `Delete ${asset.name} for good`,
            text: "Delete for good",
            // Nothing brings it back: the first click asks, as "Empty trash" does.
            onclick: (event) => {
              const button = /** @type {HTMLButtonElement} */ (event.currentTarget);
              if (button.dataset.confirm !== "1") {
                button.dataset.confirm = "1";
                button.textContent = "Really delete?";
                button.setAttribute("aria-label", `Really delete ${asset.name} for good?`);
                return;
              }
              act(() => api("DELETE", `/v1/trash/${id}`), `${asset.name} deleted for good`);
            } })));
    };

    more.addEventListener("click", () => load(false));
    empty.addEventListener("click", () => {
      if (empty.dataset.confirm !== "1") {
        empty.dataset.confirm = "1";
        empty.textContent = "Really delete everything in the trash for good?";
        return;
      }
      delete empty.dataset.confirm;
      empty.textContent = "Empty trash";
      api("DELETE", "/v1/trash").then((report) => {
        toast(`${report.purged} deleted for good${report.failed ? `, ${report.failed} failed` : ""}`, { error: report.failed > 0 });
        changed();
        load(true);
      }).catch((error) => toast(message(error), { error: true }));
    });
    body.append(h("div", { class: "trash-head" }, summary, empty), list, more);
    load(true);
  }, { id: "trash-dialog" });
}
