// The stats dashboard (GET /v1/stats): library, storage, trash and usage figures, and cost
// by type, model, provider and month as horizontal SVG bar charts drawn here (no library).
import { api, ApiError } from "./api.js";
import { message, openDialog } from "./dialog.js";
import { formatBytes, h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const BAR_ROWS = 10;

/** Whether the server has GET /v1/stats (a 404/405 hides the button). */
export async function hasStats() {
  try {
    await api("GET", "/v1/stats");
    return true;
  } catch (error) {
    return !(error instanceof ApiError && (error.status === 404 || error.status === 405));
  }
}

/** @param {string} tag @param {Record<string, string|number>} attrs */
function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  return el;
}

/** @param {number} value */
function money(value) {
  return value.toLocaleString(undefined, { maximumFractionDigits: value < 1 ? 4 : 2 });
}

/**
 * A horizontal bar chart: one labelled bar per row, the value at its end. Text labels
 * and a <title> per bar, and a table equivalent for screen readers.
 * @param {string} title
 * @param {{label: string, value: number}[]} rows
 * @param {(value: number) => string} format
 */
export function barChart(title, rows, format) {
  const shown = rows.slice(0, BAR_ROWS);
  const max = Math.max(...shown.map((r) => r.value), 0) || 1;
  const rowHeight = 26;
  const width = 520;
  const labelWidth = 150;
  const valueWidth = 90;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${shown.length * rowHeight + 4}`, class: "bar-chart",
    role: "img", "aria-label": `${title}: ${shown.map((r) => `${r.label} ${format(r.value)}`).join(", ")}` });
  shown.forEach((row, i) => {
    const y = i * rowHeight + 2;
    const barWidth = Math.max(2, ((width - labelWidth - valueWidth) * row.value) / max);
    const label = svg("text", { x: labelWidth - 8, y: y + 17, "text-anchor": "end", class: "bar-label" });
    label.textContent = row.label.length > 22 ? `${row.label.slice(0, 21)}…` : row.label;
    const bar = svg("rect", { x: labelWidth, y: y + 4, width: barWidth, height: rowHeight - 8, rx: 3, class: "bar" });
    const tip = svg("title");
    tip.textContent = `${row.label}: ${format(row.value)}`;
    bar.append(tip);
    const value = svg("text", { x: labelWidth + barWidth + 6, y: y + 17, class: "bar-value" });
    value.textContent = format(row.value);
    chart.append(label, bar, value);
  });
  return h("figure", { class: "chart" }, h("figcaption", { text: title }),
    shown.length ? chart : h("p", { class: "muted", text: "Nothing yet." }));
}

/** @param {string} label @param {string} value @param {string} [note] */
function figure(label, value, note = "") {
  return h("div", { class: "figure" }, h("span", { class: "figure-value", text: value }),
    h("span", { class: "figure-label", text: label }), note ? h("span", { class: "muted small", text: note }) : null);
}

/** Open the dashboard. */
export function openStats() {
  openDialog("Library stats", async (body) => {
    body.append(h("p", { class: "muted", text: "Loading…" }));
    let stats;
    try {
      stats = await api("GET", "/v1/stats");
    } catch (error) {
      body.replaceChildren(h("p", { class: "error", role: "alert", text: message(error) }));
      return;
    }
    const { assets, cost, storage, trash, usage } = stats;
    const groups = (list) => list.map((g) => ({ label: g.value, value: g.cost }));
    body.replaceChildren(
      h("div", { class: "figures", id: "stats-figures" },
        figure("assets", assets.count.toLocaleString(), formatBytes(assets.bytes)),
        figure("stored", formatBytes(storage.bytes), `${storage.blobs.toLocaleString()} distinct files`),
        figure("in the trash", trash.count.toLocaleString(), formatBytes(trash.bytes)),
        figure("total cost", money(cost.total), `${cost.priced_assets} priced assets`),
        usage ? figure("views / downloads", `${usage.views} / ${usage.downloads}`) : null),
      h("div", { class: "charts" },
        barChart("Assets by type", assets.by_type.map((t) => ({ label: t.type, value: t.count })), (v) => v.toLocaleString()),
        barChart("Bytes by type", assets.by_type.map((t) => ({ label: t.type, value: t.bytes })), formatBytes),
        barChart("Cost by model", groups(cost.by_model), money),
        barChart("Cost by provider", groups(cost.by_provider), money),
        barChart("Cost by month", groups([...cost.by_month].reverse()), money)),
      h("p", { class: "muted small", text: `Costs are summed in the units clients gave them. As of ${new Date(stats.generated_at).toLocaleString()}.` }));
  }, { id: "stats-dialog" });
}
