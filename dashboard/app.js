/**
 * The dashboard's entry: log in (sessionStorage, the #token= fragment, or the form), then
 * poll the admin API and hand each answer to the panel that shows it. Counters, rates and
 * clients every 2 s, retained topics every 5 s; a 401 at any time goes back to the form.
 */
import { NetworkError, createApi } from './api.js';
import { clearCredentials, loadCredentials, saveCredentials, takeFragmentToken } from './credentials.js';
import { byTestId } from './dom.js';
import { formatBytes, formatRate } from './format.js';
import { createLogin } from './login.js';
import { createPoller } from './poller.js';
import { createStatus } from './status.js';
import { renderBrokerPanel } from './broker-panel.js';
import { renderBrokerTiles, renderRateTiles } from './tiles.js';
import { createChart } from './chart.js';
import { createClientsTable } from './clients.js';
import { createTopicTree } from './topic-tree.js';
import { toast } from './toasts.js';

const RETAINED_LIMIT = 1000;

const dashboard = byTestId('dashboard');
let api = null;
let poller = null;
let brokerNow = Date.now();

const status = createStatus({ onRetry: () => poller?.retryNow() });
const login = createLogin({ onLoggedIn: start });

const messagesChart = createChart(byTestId('chart-messages'), {
  series: [{ key: 'publishIn' }, { key: 'publishOut' }],
  formatValue: (v) => formatRate(v),
  labels: ['In', 'Out'],
});
const bytesChart = createChart(byTestId('chart-bytes'), {
  series: [{ key: 'bytesIn' }, { key: 'bytesOut' }],
  formatValue: (v) => formatBytes(v).replace(' ', '\u202f') + '/s',
  bytes: true,
  labels: ['Received', 'Sent'],
});

const clients = createClientsTable({
  async kick(clientId) {
    try {
      const done = await api.kick(clientId);
      if (done) {
        toast(`Disconnected "${clientId}".`, 'success');
        clients.remove(clientId);
      } else {
        toast(`"${clientId}" is no longer connected.`, 'info');
      }
    } catch (e) {
      if (e instanceof NetworkError) toast(`Could not disconnect "${clientId}": the broker cannot be reached.`, 'error');
      else if (e.name === 'AuthError') return signedOut('Your credentials are no longer accepted. Sign in again.');
      else toast(`Could not disconnect "${clientId}": ${e.message}`, 'error');
    }
    poller?.refresh('clients', 'broker');
  },
});

const topics = createTopicTree({ onFilter: () => poller?.refresh('retained') });

for (const button of byTestId('rates-window').querySelectorAll('button')) {
  button.addEventListener('click', () => {
    for (const b of byTestId('rates-window').querySelectorAll('button')) b.setAttribute('aria-pressed', String(b === button));
    messagesChart.setWindow(Number(button.dataset.minutes));
    bytesChart.setWindow(Number(button.dataset.minutes));
  });
}

byTestId('logout').addEventListener('click', () => signedOut());

function tasks() {
  return [
    {
      name: 'broker',
      everyMs: 2000,
      run: async () => {
        const broker = await api.broker();
        brokerNow = broker.now ?? Date.now();
        byTestId('broker-version').textContent = broker.version ? `v${broker.version}` : '';
        renderBrokerTiles(broker);
        renderBrokerPanel(broker);
        status.updated(brokerNow);
      },
    },
    {
      name: 'rates',
      everyMs: 2000,
      run: async () => {
        const rates = await api.rates();
        renderRateTiles(rates);
        const end = rates.samples?.at(-1)?.t ?? brokerNow;
        messagesChart.update(rates, end);
        bytesChart.update(rates, end);
      },
    },
    {
      name: 'clients',
      everyMs: 2000,
      run: async () => clients.update(await api.clients(), brokerNow),
    },
    {
      name: 'retained',
      everyMs: 5000,
      run: async () => topics.update(await api.retained(topics.filter(), RETAINED_LIMIT), RETAINED_LIMIT),
    },
  ];
}

function start(credentials) {
  saveCredentials(credentials);
  api = createApi(credentials);
  login.hide();
  dashboard.hidden = false;
  status.connecting();
  // A panel that keeps failing the same way says so once, not every two seconds.
  const lastFailure = new Map();
  const watched = tasks().map((t) => ({
    ...t,
    run: async () => {
      await t.run();
      lastFailure.delete(t.name);
    },
  }));
  poller = createPoller(watched, {
    online: () => status.online(),
    offline: (info) => status.offline(info),
    authFailed: () => signedOut('Your credentials are no longer accepted. Sign in again.'),
    failed: (task, error) => {
      if (lastFailure.get(task.name) === error.message) return;
      lastFailure.set(task.name, error.message);
      toast(`Could not load ${task.name}: ${error.message}`, 'error');
    },
  });
  poller.start();
  // Charts were sized while hidden: draw again now that they have a size.
  requestAnimationFrame(() => {
    messagesChart.draw();
    bytesChart.draw();
  });
}

function signedOut(message) {
  poller?.stop();
  poller = null;
  api = null;
  clearCredentials();
  dashboard.hidden = true;
  status.reset();
  clients.clear();
  topics.clear();
  messagesChart.clear();
  bytesChart.clear();
  login.show(message);
}

document.addEventListener('visibilitychange', () => {
  if (poller !== null && document.hidden) status.paused();
  else if (poller !== null && !document.body.classList.contains('offline')) status.online();
});

async function boot() {
  const fragmentToken = takeFragmentToken();
  if (fragmentToken !== null) {
    if (await login.tryToken(fragmentToken)) return;
    login.show('The token in the link was not accepted.');
    return;
  }
  const saved = loadCredentials();
  if (saved !== null) start(saved);
  else login.show();
}

void boot();
