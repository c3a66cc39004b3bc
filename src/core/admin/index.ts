/** The broker's HTTP listener: /metrics, the admin API and the dashboard's files. */
export { startAdminServer, API_OFF, type AdminServer, type AdminServerOptions } from './server.js';
export type { AdminCredentials } from './auth.js';
export type { AdminListener } from './metrics.js';
export { renderMetrics } from './metrics.js';
export type { RateSample } from './rates.js';
export type {
  BrokerCounters,
  BrokerListenerView,
  BrokerView,
  ClientDetailView,
  ClientView,
  DeletedView,
  ErrorView,
  RatesView,
  RetainedView,
  SessionView,
  SubscriptionView,
} from './api-views.js';
export { AdminClientError, adminAddress, adminBaseUrl, adminRequest, kickClient, listClients, type AdminAnswer, type AdminEndpoint, type AdminFailureKind } from './admin-client.js';
