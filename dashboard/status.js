/**
 * Whether the page is live: the dot in the top bar, the banner when the broker cannot be
 * reached (with the retry countdown and a button), and the "updated" line in the footer.
 */
import { byTestId } from './dom.js';
import { formatDateTime } from './format.js';

export function createStatus({ onRetry }) {
  const status = byTestId('live-status');
  const text = status.querySelector('.status-text');
  const banner = byTestId('conn-banner');
  const bannerText = byTestId('conn-banner-text');
  const footer = byTestId('updated');
  let countdown = null;

  byTestId('conn-retry').addEventListener('click', onRetry);

  function setState(state, label) {
    status.dataset.state = state;
    text.textContent = label;
  }

  function stopCountdown() {
    clearInterval(countdown);
    countdown = null;
  }

  return {
    connecting() {
      stopCountdown();
      banner.hidden = true;
      setState('connecting', 'Connecting…');
    },
    online() {
      stopCountdown();
      banner.hidden = true;
      document.body.classList.remove('offline');
      setState('live', 'Live');
    },
    offline({ error, retryAt }) {
      setState('offline', 'Offline');
      document.body.classList.add('offline');
      banner.hidden = false;
      const render = () => {
        const s = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
        bannerText.textContent = `The broker cannot be reached (${error.message}). Showing the last data; retrying ${s > 0 ? `in ${s} s` : 'now'}…`;
      };
      render();
      stopCountdown();
      countdown = setInterval(render, 500);
    },
    paused() {
      setState('paused', 'Paused while hidden');
    },
    updated(brokerNowMs) {
      footer.textContent = `Updated ${formatDateTime(brokerNowMs)} (broker time)`;
    },
    reset() {
      stopCountdown();
      banner.hidden = true;
      document.body.classList.remove('offline');
      footer.textContent = '';
      setState('connecting', 'Connecting…');
    },
  };
}
