/** Short notices in a corner that go away by themselves (what happened after a click). */
import { byTestId, h } from './dom.js';

const SHOW_MS = 5000;

export function toast(message, kind = 'info') {
  const box = byTestId('toasts');
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-testid': 'toast' }, message);
  box.append(el);
  setTimeout(() => el.remove(), SHOW_MS);
}
