/**
 * bench:admin's scraper, in a process of its own so the load generator's busy event loop
 * cannot delay it: every second, GET /metrics, /api/v1/clients and /api/v1/rates from the
 * broker at argv[2] (port) with the bearer token in MQT_ADMIN_TOKEN, as Prometheus plus an open
 * dashboard do. Reports { scrapes, bytes, refused } over IPC when asked, and exits with its parent.
 */
import { request } from 'node:http';

const port = Number(process.argv[2]);
const token = process.env.MQT_ADMIN_TOKEN;
const PATHS = ['/metrics', '/api/v1/clients', '/api/v1/rates'];
const totals = { scrapes: 0, bytes: 0, refused: [] };

function get(path) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.on('data', (d) => (totals.bytes += d.length));
      res.on('end', () => {
        if (res.statusCode !== 200) totals.refused.push(`${path} ${res.statusCode}`);
        resolve();
      });
    });
    req.once('error', (err) => {
      totals.refused.push(`${path} ${err.code ?? err.message}`);
      resolve();
    });
    req.end();
  });
}

setInterval(async () => {
  for (const path of PATHS) await get(path);
  totals.scrapes++;
}, 1000);
process.on('message', () => process.send(totals));
process.on('disconnect', () => process.exit(0));
