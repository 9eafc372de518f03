import type { Database } from '../db/database.ts';
import { ApiKeyRepository } from './api-keys.ts';
import { BundleRepository } from './bundles.ts';
import { DeploymentRepository } from './deployments.ts';
import { IntegrationConnectionRepository } from './integration-connections.ts';
import { RunEventRepository } from './run-events.ts';
import { RunRepository } from './runs.ts';
import { RuntimeRepository } from './runtimes.ts';
import { SecretRepository } from './secrets.ts';
import { SessionRepository } from './sessions.ts';
import { TemplateRepository } from './templates.ts';
import { WebhookDeliveryRepository } from './webhook-deliveries.ts';
import { WebhookRepository } from './webhooks.ts';

/** Every repository over one open database: what the API, scheduler and webhook sender share. */
export interface Store {
  readonly database: Database;
  readonly runtimes: RuntimeRepository;
  readonly deployments: DeploymentRepository;
  readonly runs: RunRepository;
  readonly events: RunEventRepository;
  readonly apiKeys: ApiKeyRepository;
  readonly sessions: SessionRepository;
  readonly webhooks: WebhookRepository;
  readonly webhookDeliveries: WebhookDeliveryRepository;
  readonly templates: TemplateRepository;
  readonly bundles: BundleRepository;
  readonly secrets: SecretRepository;
  readonly connections: IntegrationConnectionRepository;
}

export function createStore(database: Database): Store {
  return {
    database,
    runtimes: new RuntimeRepository(database),
    deployments: new DeploymentRepository(database),
    runs: new RunRepository(database),
    events: new RunEventRepository(database),
    apiKeys: new ApiKeyRepository(database),
    sessions: new SessionRepository(database),
    webhooks: new WebhookRepository(database),
    webhookDeliveries: new WebhookDeliveryRepository(database),
    templates: new TemplateRepository(database),
    bundles: new BundleRepository(database),
    secrets: new SecretRepository(database),
    connections: new IntegrationConnectionRepository(database),
  };
}
