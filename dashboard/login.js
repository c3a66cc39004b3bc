/**
 * The login form: a token, or a user and password. It checks the credentials with one call
 * before keeping them, so a wrong token is told at once and the form stays.
 */
import { AuthError, NetworkError, createApi } from './api.js';
import { byTestId } from './dom.js';

export function createLogin({ onLoggedIn }) {
  const root = byTestId('login');
  const form = byTestId('login-form');
  const error = byTestId('login-error');
  const submit = byTestId('login-submit');
  const tabs = [...form.querySelectorAll('[role="tab"]')];
  const fieldsets = [...form.querySelectorAll('[data-fields]')];
  let mode = 'token';

  function setMode(next) {
    mode = next;
    for (const tab of tabs) tab.setAttribute('aria-selected', String(tab.dataset.mode === mode));
    for (const set of fieldsets) set.hidden = set.dataset.fields !== mode;
    hideError();
    focusFirst();
  }

  function focusFirst() {
    const input = form.querySelector(`[data-fields="${mode}"] input`);
    input?.focus();
  }

  function showError(message) {
    error.textContent = message;
    error.hidden = false;
  }

  function hideError() {
    error.hidden = true;
    error.textContent = '';
  }

  function credentialsFromForm() {
    if (mode === 'token') {
      const token = form.elements.token.value.trim();
      return token === '' ? null : { token };
    }
    const user = form.elements.user.value;
    return user === '' ? null : { user, password: form.elements.password.value };
  }

  /** Checks credentials against the broker; resolves true when they were accepted. */
  async function attempt(credentials) {
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      await createApi(credentials).broker();
      hideError();
      onLoggedIn(credentials);
      return true;
    } catch (e) {
      if (e instanceof AuthError) showError(mode === 'token' ? 'That token was not accepted.' : 'That user and password were not accepted.');
      else if (e instanceof NetworkError) showError(`The broker cannot be reached (${e.message}).`);
      else showError(e.message);
      return false;
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  }

  for (const tab of tabs) tab.addEventListener('click', () => setMode(tab.dataset.mode));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const credentials = credentialsFromForm();
    if (credentials === null) {
      showError(mode === 'token' ? 'Enter the admin token.' : 'Enter a user name.');
      return;
    }
    void attempt(credentials);
  });

  return {
    /** Shows the form, with a message when the dashboard sent us back here. */
    show(message) {
      root.hidden = false;
      form.reset();
      if (message) showError(message);
      else hideError();
      focusFirst();
    },
    hide() {
      root.hidden = true;
    },
    /** Logs in with a token that came from elsewhere (the URL fragment), showing the form on failure. */
    async tryToken(token) {
      setMode('token');
      form.elements.token.value = token;
      const ok = await attempt({ token });
      if (!ok) form.elements.token.value = '';
      return ok;
    },
  };
}
