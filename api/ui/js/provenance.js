// The provenance and technical-metadata sections of the detail panel.
import { h, icons, formatBytes, formatDate } from "./dom.js";
import { setFilter, setState } from "./state.js";
import { toast } from "./toast.js";

/**
 * Copy text to the clipboard (falls back to a hidden textarea where the API is missing).
 * @param {string} text
 * @param {string} what
 */
export async function copyText(text, what) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = h("textarea", { class: "visually-hidden", "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  toast(`${what} copied`);
}

/** A definition row, or nothing when the value is empty. */
function row(label, value) {
  if (value === null || value === undefined || value === "" ||
      (Array.isArray(value) && !value.length)) return null;
  return [h("dt", { text: label }), h("dd", {}, value instanceof Node ? value : String(value))];
}

function list(...rows) {
  const dl = h("dl", { class: "meta" });
  for (const pair of rows) if (pair) dl.append(...pair);
  return dl.children.length ? dl : null;
}

/** A value that filters the results when clicked ("everything made with this model"). */
function filterLink(field, value, label) {
  return h("button", {
    type: "button", class: "link", title: `Show everything with ${label} ${value}`,
    text: value, "data-filter": field, onclick: () => setFilter(field, [value]),
  });
}

/** A prompt block with copy and "search this prompt". */
function promptBlock(title, text, searchable) {
  const slug = title.toLowerCase().replace(/\s+/g, "-");
  return h("div", { class: "prompt" },
    h("div", { class: "prompt-head" },
      h("h4", { text: title }),
      h("button", {
        type: "button", class: "icon-button", html: icons.copy, "aria-label": `Copy ${title.toLowerCase()}`,
        "data-copy": slug, onclick: () => copyText(text, title),
      }),
      searchable ? h("button", {
        type: "button", class: "icon-button", html: icons.search, "aria-label": `Search this ${title.toLowerCase()}`,
        "data-search-prompt": "", onclick: () => setState({ q: text.slice(0, 500), mode: "keyword", asset: "" }),
      }) : null),
    h("p", { class: "prompt-text", text }));
}

/**
 * How the asset was made: prompts, model, seed, sampler, LoRAs, C2PA.
 * @param {any} asset
 */
export function provenanceSection(asset) {
  const gen = asset.generation || {};
  const loras = (gen.loras || []).length
    ? h("span", { class: "inline-list" }, ...gen.loras.map((l) =>
      h("span", {}, filterLink("loras", l.name, "LoRA"), l.weight != null ? ` ${l.weight}` : "")))
    : null;
  // Every checkpoint of a multi-pass workflow (base + refiner, a hires pass…), the primary
  // first; "Also used" lists the others, each a filter like the primary.
  const others = (gen.models || []).filter((m) => m !== gen.model);
  const alsoUsed = others.length
    ? h("span", { class: "inline-list" }, ...others.map((m) => filterLink("model", m, "model")))
    : null;
  const c2pa = gen.c2pa
    ? [gen.c2pa.claim_generator, gen.c2pa.validation_state, gen.c2pa.digital_source_type]
      .filter(Boolean).join(" · ")
    : null;
  const blocks = [
    gen.prompt ? promptBlock("Prompt", gen.prompt, true) : null,
    gen.negative_prompt ? promptBlock("Negative prompt", gen.negative_prompt, false) : null,
    list(
      row("Model", gen.model ? filterLink("model", gen.model, "model") : null),
      row("Also used", alsoUsed),
      row("Model hash", gen.model_hash),
      row("Seed", gen.seed),
      row("Sampler", gen.sampler ? filterLink("sampler", gen.sampler, "sampler") : null),
      row("Scheduler", gen.scheduler),
      row("Steps", gen.steps),
      row("CFG", gen.cfg_scale),
      row("LoRAs", loras),
      row("Generator", gen.generator ? filterLink("generator", gen.generator, "generator") : null),
      row("Provider", gen.provider ? filterLink("provider", gen.provider, "provider") : null),
      row("Cost", gen.cost),
      row("AI-generated", gen.ai_generated == null ? null : (gen.ai_generated ? "yes" : "no")),
      row("C2PA", c2pa),
    ),
  ].filter(Boolean);
  if (!blocks.length) return null;
  return h("section", { class: "section", "aria-labelledby": "prov-title" },
    h("h3", { id: "prov-title", text: "Provenance" }), ...blocks);
}

/** @param {number|null|undefined} seconds */
function duration(seconds) {
  if (seconds == null) return null;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return `${m}:${String(s).padStart(2, "0")}`;
}

/**
 * Technical metadata by type.
 * @param {any} asset
 */
export function technicalSection(asset) {
  const m = asset.media || {};
  const dims = m.width && m.height ? `${m.width} × ${m.height}` : null;
  return h("section", { class: "section", "aria-labelledby": "tech-title" },
    h("h3", { id: "tech-title", text: "Details" }),
    list(
      row("Type", `${asset.type} · ${asset.mime}`),
      row("Size", formatBytes(asset.size_bytes)),
      row("Dimensions", dims),
      row("Format", m.format),
      row("Colour", m.color_mode ? `${m.color_mode}${m.has_alpha ? " + alpha" : ""}` : null),
      row("Duration", duration(m.duration)),
      row("Frame rate", m.fps ? `${m.fps} fps` : null),
      row("Codec", m.codec),
      row("Sample rate", m.sample_rate ? `${m.sample_rate} Hz` : null),
      row("Channels", m.channels),
      row("Font", m.family ? `${m.family} ${m.style || ""}`.trim() : null),
      row("Glyphs", m.glyphs),
      row("Status", asset.status),
      row("Source", asset.source),
      row("Created", formatDate(asset.created_at)),
      row("Updated", formatDate(asset.updated_at)),
      row("SHA-256", h("code", { class: "hash", text: asset.sha256 })),
    ));
}
