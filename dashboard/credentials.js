/**
 * Where the login is kept: sessionStorage (gone with the tab, never sent anywhere by the
 * browser on its own), and the `#token=…` fragment a script may open the page with. A
 * fragment never reaches the server in a request line; it is removed from the address bar
 * at once so it does not stay in the history or get copied along with the URL.
 */

const KEY = 'mqt.dashboard.credentials';

/** { token } or { user, password }, or null. */
export function loadCredentials() {
  try {
    const value = JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
    if (value !== null && (typeof value.token === 'string' || typeof value.user === 'string')) return value;
  } catch {
    // storage off or a bad value: log in again
  }
  return null;
}

export function saveCredentials(credentials) {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(credentials));
  } catch {
    // storage off (private mode quota): the login lasts until the page is reloaded
  }
}

export function clearCredentials() {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // nothing kept
  }
}

/** The token of a `#token=…` fragment (removed from the address bar), or null. */
export function takeFragmentToken() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = params.get('token');
  if (token === null) return null;
  history.replaceState(history.state, '', `${location.pathname}${location.search}`);
  return token === '' ? null : token;
}
