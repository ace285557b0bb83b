// The API keys screen (admins): list the workspace's keys, create one with a scope (shown
// once, with a copy button), revoke.
import { api } from "./api.js";
import { field, message, openDialog } from "./dialog.js";
import { clear, formatDate, h, icons } from "./dom.js";
import { copyText } from "./provenance.js";
import { toast } from "./toast.js";

/** The highest scope a key's scope list implies. @param {string[]} scopes */
function level(scopes) {
  return scopes.includes("admin") ? "admin" : scopes.includes("write") ? "write" : "read";
}

/** Open the keys dialog. @param {string} workspace */
export function openKeys(workspace) {
  openDialog(`API keys of ${workspace}`, (body) => {
    const table = h("table", { class: "keys", id: "key-table" });
    const error = h("p", { class: "error", role: "alert", hidden: true });
    const fresh = h("div", { id: "new-key", hidden: true });
    const fail = (err) => { error.hidden = false; error.textContent = message(err); };

    const draw = async () => {
      let keys;
      try {
        keys = (await api("GET", "/v1/keys")).items;
      } catch (err) {
        fail(err);
        return;
      }
      clear(table);
      table.append(h("caption", { class: "visually-hidden", text: "API keys" }),
        h("thead", {}, h("tr", {}, ...["Name", "Scope", "Key", "Created", "Status", ""].map((t) =>
          h("th", { scope: "col", text: t })))));
      const rows = h("tbody");
      for (const key of keys) {
        const revoked = Boolean(key.revoked_at);
        rows.append(h("tr", { "data-key": key.id, class: revoked ? "revoked" : "" },
          h("td", { text: key.name || "—" }),
          h("td", { text: level(key.scopes) }),
          h("td", {}, h("code", { text: `…${key.hint || ""}` })),
          h("td", { text: formatDate(key.created_at) }),
          h("td", { text: revoked ? `revoked ${formatDate(key.revoked_at)}` : "active" }),
          h("td", {}, revoked ? null : h("button", { type: "button", class: "button danger",
            text: "Revoke", "aria-label": `Revoke key ${key.name || key.hint}`,
            onclick: async () => {
              try {
                await api("DELETE", `/v1/keys/${encodeURIComponent(key.id)}`);
                toast(`Key ${key.name || key.hint} revoked`);
                draw();
              } catch (err) {
                fail(err);
              }
            } }))));
      }
      table.append(rows);
    };

    const name = /** @type {HTMLInputElement} */ (h("input", { type: "text", maxlength: "100", autocomplete: "off", placeholder: "e.g. render farm" }));
    const scope = /** @type {HTMLSelectElement} */ (h("select", {},
      h("option", { value: "read", text: "read — browse and download" }),
      h("option", { value: "write", text: "write — also upload and edit", selected: true }),
      h("option", { value: "admin", text: "admin — also manage keys" })));
    const create = h("form", { class: "share-form", onsubmit: async (event) => {
      event.preventDefault();
      try {
        const made = await api("POST", "/v1/keys", { json: { name: name.value || null, scopes: [scope.value] } });
        name.value = "";
        error.hidden = true;
        showOnce(fresh, made);
        draw();
      } catch (err) {
        fail(err);
      }
    } }, field("Name", name), field("Scope", scope), h("button", { type: "submit", class: "primary", text: "Create key" }));

    body.append(h("div", { class: "table-scroll" }, table), fresh, h("h3", { text: "New key" }), create, error);
    draw();
  }, { id: "keys-dialog" });
}

/** Show a just-created key, the only time it can be seen. @param {HTMLElement} box @param {any} made */
function showOnce(box, made) {
  clear(box);
  box.hidden = false;
  const value = /** @type {HTMLInputElement} */ (h("input", { type: "text", readonly: true, value: made.key,
    id: "new-key-value", class: "mono", spellcheck: "false" }));
  box.append(h("div", { class: "notice", role: "status" },
    h("p", {}, h("strong", { text: "Copy this key now: " }), "it is shown only this once."),
    h("div", { class: "inline-form" },
      h("label", { for: "new-key-value", class: "visually-hidden", text: "New API key" }), value,
      h("button", { type: "button", class: "button", id: "copy-key", html: icons.copy,
        onclick: () => copyText(made.key, "Key") }, h("span", { text: "Copy" })))));
  value.select();
}
