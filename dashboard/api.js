/**
 * The admin API client: one fetch per call, JSON in and out, credentials in the
 * Authorization header (never in a URL). Failures come back as one of three errors, because
 * the page reacts to each differently: AuthError (401: back to the login form),
 * NetworkError (no answer: the broker is gone, retry) and ApiError (any other status).
 */

/** Longer than any answer of a healthy broker; a hung one is treated as gone. */
const TIMEOUT_MS = 8000;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

export class AuthError extends ApiError {
  constructor(message = 'The broker did not accept these credentials') {
    super(401, message);
    this.name = 'AuthError';
  }
}

export class NetworkError extends Error {
  constructor(message) {
    super(message);
    this.name = 'NetworkError';
  }
}

/** UTF-8 safe base64 for Basic credentials (btoa alone takes only Latin-1). */
function base64Utf8(text) {
  let bin = '';
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** The Authorization header for stored credentials: { token } or { user, password }. */
export function authorizationHeader(credentials) {
  if (credentials.token !== undefined) return `Bearer ${credentials.token}`;
  return `Basic ${base64Utf8(`${credentials.user}:${credentials.password}`)}`;
}

/** An API bound to one set of credentials. */
export function createApi(credentials, base = '') {
  const authorization = authorizationHeader(credentials);

  async function call(method, path) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    let response;
    try {
      response = await fetch(`${base}/api/v1/${path}`, {
        method,
        headers: { Authorization: authorization, Accept: 'application/json' },
        cache: 'no-store',
        credentials: 'omit',
        signal: controller.signal,
      });
    } catch (e) {
      throw new NetworkError(controller.signal.aborted ? `no answer within ${TIMEOUT_MS / 1000} s` : 'the broker cannot be reached');
    } finally {
      clearTimeout(timer);
    }
    if (response.status === 401) throw new AuthError();
    if (response.status === 204) return null;
    if (!response.ok) throw new ApiError(response.status, await errorText(response));
    try {
      return await response.json();
    } catch {
      throw new ApiError(response.status, `${method} ${path}: the answer is not JSON`);
    }
  }

  return {
    broker: () => call('GET', 'broker'),
    rates: () => call('GET', 'rates'),
    clients: () => call('GET', 'clients'),
    sessions: () => call('GET', 'sessions'),
    retained: (filter = '#', limit = 1000) => call('GET', `retained?filter=${encodeURIComponent(filter)}&limit=${limit}`),
    /** true when disconnected, false when the client was not connected (404). */
    async kick(clientId) {
      try {
        await call('DELETE', `clients/${encodeURIComponent(clientId)}`);
        return true;
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return false;
        throw e;
      }
    },
  };
}

/** The error's message from a JSON { error } body, or the status line. */
async function errorText(response) {
  try {
    const body = await response.json();
    if (body !== null && typeof body.error === 'string') return body.error;
  } catch {
    // not JSON
  }
  return `HTTP ${response.status} ${response.statusText}`.trim();
}
