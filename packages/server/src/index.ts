export { type Database, type DatabaseConfig, type Dialect, openDatabase } from './db/database.ts';
export { migrations } from './db/migrations.ts';
export { type AppOptions, createApp, openApiPath } from './http/create-app.ts';
export { statusForCode } from './http/errors.ts';
export { jsonLogger, type Logger, silentLogger } from './http/logger.ts';
export { defaultRateLimit, type RateLimitOptions } from './http/rate-limit.ts';
export { type ServeOptions, type Server, serve } from './http/serve.ts';
export {
  type OutboundSettings,
  outboundSettingsSchema,
  readOutboundSettings,
} from './outbound-settings.ts';
export {
  RunEventHub,
  type RunEventHubOptions,
  type RunEventListener,
} from './runs/run-event-hub.ts';
export {
  isTerminalEvent,
  isTerminalStatus,
  type RunEventStreamOptions,
  runEventStream,
} from './runs/run-event-stream.ts';
export { RunWorker, type RunWorkerOptions } from './runs/run-worker.ts';
export {
  type RunningServer,
  type StartServerOptions,
  type StopOptions,
  type StopResult,
  startServer,
} from './server.ts';
export type { ApiKey, ApiKeyRepository } from './store/api-keys.ts';
export type { Deployment, DeploymentInput, DeploymentRepository } from './store/deployments.ts';
export type { Page, PageRequest } from './store/pagination.ts';
export type { RunEventRepository } from './store/run-events.ts';
export {
  type ClaimOptions,
  type CreateRunInput,
  type ListRunsFilter,
  type Run,
  type RunRepository,
  type RunStatus,
  runStatuses,
  runTransitions,
  type TransitionOptions,
} from './store/runs.ts';
export type { Runtime, RuntimeRepository } from './store/runtimes.ts';
export { createStore, type Store } from './store/store.ts';
export type {
  AttemptResult,
  DeliveryAttempt,
  DeliveryStatus,
  WebhookDelivery,
  WebhookDeliveryRepository,
} from './store/webhook-deliveries.ts';
export type { Webhook, WebhookInput, WebhookRepository } from './store/webhooks.ts';
export {
  RunWebhooks,
  type RunWebhooksOptions,
  webhookEventType,
} from './webhooks/run-webhooks.ts';
export {
  checkWebhookUrl,
  defaultWebhookAddresses,
  type WebhookAddresses,
} from './webhooks/webhook-addresses.ts';
export {
  type Clock,
  type DispatcherLogger,
  defaultRetryDelaysMs,
  type Timers,
  WebhookDispatcher,
  type WebhookDispatcherOptions,
  type WebhookEvent,
  type WebhookEventType,
  webhookEventTypes,
} from './webhooks/webhook-dispatcher.ts';
