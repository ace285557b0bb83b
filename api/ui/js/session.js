// Browser sign-in: the API key is exchanged for an HttpOnly session cookie. The key lives
// only in the password field until it is sent in the sign-in body; it is never stored.
import { api, ApiError, setCsrfToken } from "./api.js";

/**
 * @typedef {{workspace: string, scopes: string[], csrf_token: string, expires_at: string}} Session
 */

/** The current session, or null when signed out. @returns {Promise<Session|null>} */
export async function currentSession() {
  try {
    const session = await api("GET", "/v1/session", { quiet401: true });
    setCsrfToken(session.csrf_token);
    return session;
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 404)) return null;
    throw error;
  }
}

/** @param {string} key @returns {Promise<Session>} */
export async function signIn(key) {
  const session = await api("POST", "/v1/session", { json: { api_key: key }, quiet401: true });
  setCsrfToken(session.csrf_token);
  return session;
}

export async function signOut() {
  try {
    await api("DELETE", "/v1/session", { quiet401: true });
  } finally {
    setCsrfToken("");
  }
}
