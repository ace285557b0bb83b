// Uploads: drag and drop or the file picker, many at once, per-file progress and errors.
import { ApiError, uploadFile } from "./api.js";
import { formatBytes, h } from "./dom.js";
import { folderNames } from "./facets.js";
import { getState } from "./state.js";

const PARALLEL = 3;

export class UploadQueue {
  /**
   * @param {HTMLElement} panel the uploads panel
   * @param {HTMLElement} list its <ul>
   * @param {() => void} onUploaded called after each success (to refresh the results)
   */
  constructor(panel, list, onUploaded) {
    this.panel = panel;
    this.list = list;
    this.onUploaded = onUploaded;
    /** @type {(() => Promise<void>)[]} */
    this.waiting = [];
    this.running = 0;
  }

  /** @param {Iterable<File>} files @param {Record<string, string>} [fields] sent with each file */
  add(files, fields = {}) {
    for (const file of files) {
      const bar = h("progress", { max: "1", value: "0", "aria-label": `Uploading ${file.name}` });
      const status = h("span", { class: "upload-status muted", text: "Waiting" });
      const item = h("li", { class: "upload-item", "data-name": file.name },
        h("span", { class: "upload-name", text: file.name }),
        h("span", { class: "muted", text: formatBytes(file.size) }), bar, status);
      this.list.prepend(item);
      this.waiting.push(() => this.send(file, item, bar, status, fields));
    }
    this.panel.hidden = false;
    this.pump();
  }

  pump() {
    while (this.running < PARALLEL && this.waiting.length) {
      const task = /** @type {() => Promise<void>} */ (this.waiting.shift());
      this.running += 1;
      task().finally(() => {
        this.running -= 1;
        this.pump();
      });
    }
  }

  /**
   * @param {File} file @param {HTMLElement} item
   * @param {HTMLProgressElement} bar @param {HTMLElement} status
   * @param {Record<string, string>} fields
   */
  async send(file, item, bar, status, fields) {
    status.textContent = "Uploading";
    try {
      const asset = await uploadFile(file, (fraction) => { bar.value = fraction; }, fields).promise;
      bar.value = 1;
      item.classList.add("done");
      status.textContent = asset.duplicate_of ? "Uploaded (duplicate of an existing asset)" : "Uploaded";
      this.onUploaded();
    } catch (error) {
      item.classList.add("failed");
      bar.remove();
      status.className = "upload-status error";
      // The server's problem detail says why (too large, a decompression bomb, wrong type…).
      status.textContent = error instanceof ApiError
        ? `${error.title}${error.detail ? `: ${error.detail}` : ""}` : String(error);
    }
  }
}

/**
 * Let the whole page take dropped files.
 * @param {HTMLElement} overlay shown while files are dragged over the page
 * @param {(files: FileList) => void} onFiles
 * @param {() => string} describe the overlay's text: where the files will go
 */
export function enableDrop(overlay, onFiles, describe) {
  let depth = 0;
  const hasFiles = (event) => Array.from(event.dataTransfer?.types || []).includes("Files");
  window.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    depth += 1;
    const text = overlay.querySelector("p");
    if (text) text.textContent = describe();
    overlay.hidden = false;
  });
  window.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) overlay.hidden = true;
  });
  window.addEventListener("dragover", (event) => {
    if (hasFiles(event)) event.preventDefault();
  });
  window.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth = 0;
    overlay.hidden = true;
    if (event.dataTransfer?.files.length) onFiles(event.dataTransfer.files);
  });
}

/** The folder new files go into: the one folder the library is showing, if any (they
 * would land at the top level, out of view, otherwise). */
function uploadFolder() {
  const state = getState();
  const folders = state.filters.folder_id || [];
  return !state.collection && folders.length === 1 ? folders[0] : "";
}

/** The form fields sent with each new file (its folder). @returns {Record<string, string>} */
export function uploadFields() {
  const folder = uploadFolder();
  return folder ? { folder_id: folder } : {};
}

/** The drop zone's text: where dropped files will go. @param {boolean} writable */
export function dropText(writable) {
  if (!writable) return "This key can only read: uploading needs the write scope";
  const folder = uploadFolder();
  return folder ? `Drop files to upload into ${folderNames.get(folder) || "this folder"}` : "Drop files to upload";
}
