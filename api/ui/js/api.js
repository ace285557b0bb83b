// The /v1 API client: same-origin cookie session, CSRF header on writes, problem+json errors.

/** An API error carrying the RFC 9457 problem the server answered. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{title?: string, detail?: string, type?: string}} problem
   */
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.title = problem.title || `HTTP ${status}`;
    this.detail = problem.detail || "";
    this.problem = problem;
  }
}

/** The CSRF token of the current session; kept in memory only (never in storage). */
let csrfToken = "";

/** @param {string} token */
export function setCsrfToken(token) {
  csrfToken = token || "";
}

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** @param {Response} response */
async function problemOf(response) {
  try {
    const body = await response.json();
    return typeof body === "object" && body ? body : {};
  } catch {
    return { title: response.statusText };
  }
}

/**
 * Call the API. Resolves with the parsed JSON (or null for 204); rejects with ApiError.
 * A 401 also fires a `session-expired` event so the page can ask to sign in again.
 * @param {string} method
 * @param {string} path
 * @param {{json?: any, headers?: Record<string,string>, signal?: AbortSignal, quiet401?: boolean}} [options]
 * @returns {Promise<any>}
 */
export async function api(method, path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (WRITE_METHODS.has(method) && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let body;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  }
  const response = await fetch(path, {
    method, headers, body, credentials: "same-origin", signal: options.signal,
  });
  if (!response.ok) {
    const problem = await problemOf(response);
    if (response.status === 401 && !options.quiet401) {
      window.dispatchEvent(new CustomEvent("session-expired"));
    }
    throw new ApiError(response.status, problem);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  const etag = response.headers.get("ETag");
  if (etag && data && typeof data === "object") Object.defineProperty(data, "_etag", { value: etag });
  return data;
}

/**
 * Upload one file with progress (XMLHttpRequest gives upload progress; fetch does not).
 * @param {File} file
 * @param {(fraction: number) => void} onProgress
 * @param {Record<string,string>} [fields]
 * @param {string} [url] where to POST it (a new version goes to `…/versions`)
 * @returns {{promise: Promise<any>, abort: () => void}}
 */
export function uploadFile(file, onProgress, fields = {}, url = "/v1/assets") {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open("POST", url);
    xhr.withCredentials = true;
    xhr.setRequestHeader("Accept", "application/json");
    if (csrfToken) xhr.setRequestHeader("X-CSRF-Token", csrfToken);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText || "{}");
      } catch {
        body = { title: xhr.statusText };
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, { title: "Network error", detail: "the upload could not reach the server" })));
    xhr.addEventListener("abort", () => reject(new ApiError(0, { title: "Cancelled", detail: "upload cancelled" })));
    const form = new FormData();
    form.append("file", file, file.name);
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

/** The collection whose routes serve assets while it is shown ("" = the library): a
 * grantee may read a shared collection's assets only through them. */
let scope = "";

/** @param {string} collectionId */
export function setAssetScope(collectionId) {
  scope = collectionId || "";
}

/** The path of an asset, through the shown collection when there is one. @param {string} id */
export function assetPath(id) {
  const asset = encodeURIComponent(id);
  return scope ? `/v1/collections/${encodeURIComponent(scope)}/assets/${asset}` : `/v1/assets/${asset}`;
}

/** URLs of an asset's media (the session cookie authenticates them). */
export const media = {
  /** @param {string} id @param {"small"|"medium"} size */
  thumbnail: (id, size = "small") => `${assetPath(id)}/thumbnail?size=${size}`,
  /** @param {string} id */
  content: (id) => `${assetPath(id)}/content`,
};
