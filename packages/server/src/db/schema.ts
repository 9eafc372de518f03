/**
 * Row shapes of every table, as both dialects return them: timestamps are ISO 8601 text (UTC,
 * `Date.toISOString()`, so they sort as strings), JSON columns are text, counters are integers.
 * Keeping the column types this plain is what lets one set of queries run on SQLite and PostgreSQL.
 */
export interface RuntimesTable {
  id: string;
  slug: string;
  version: number;
  definition: string;
  created_at: string;
  updated_at: string;
}

export interface DeploymentsTable {
  id: string;
  api_slug: string;
  runtime_id: string;
  template_slug: string;
  created_at: string;
  updated_at: string;
}

export interface RunsTable {
  id: string;
  deployment_id: string;
  status: string;
  input: string;
  metadata: string;
  output: string | null;
  error_code: string | null;
  error_message: string | null;
  checkpoint: string | null;
  last_seq: number;
  attempts: number;
  claimed_by: string | null;
  claimed_at: string | null;
  lease_expires_at: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** `pause` or `cancel` asked of the worker holding the run (cleared when it leaves running). */
  control_request: string | null;
  /** `step` events appended so far, and the sums of their usage. */
  steps: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  /** The run's sandbox, kept paused while the run is `waiting` or `paused`. */
  sandbox_id: string | null;
  /** JSON: the approval a waiting run asks for, and its answer once given (`StoredApproval`). */
  approval: string | null;
  /** The pending approval's `expiresAt` (null once answered): what the expiry sweep looks for. */
  approval_expires_at: string | null;
}

export interface RunEventsTable {
  run_id: string;
  seq: number;
  type: string;
  payload: string;
  ts: string;
}

export interface ApiKeysTable {
  id: string;
  prefix: string;
  hash: string;
  name: string;
  /** JSON array of ApiScope. */
  scopes: string;
  /** JSON array of deployment apiSlugs, or null for a key not restricted to deployments. */
  deployments: string | null;
  created_at: string;
  revoked_at: string | null;
}

export interface SessionsTable {
  id: string;
  token_hash: string;
  /** Null: the bootstrap key (RUNTOOLS_API_KEY). */
  api_key_id: string | null;
  csrf_token: string;
  created_at: string;
  expires_at: string;
}

export interface WebhooksTable {
  id: string;
  deployment_id: string | null;
  url: string;
  events: string;
  secret: string;
  created_at: string;
  /** Set for a webhook given with one run: it receives that run's events only. */
  run_id: string | null;
}

export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  run_id: string | null;
  event_type: string;
  payload: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebhookDeliveryAttemptsTable {
  delivery_id: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  ts: string;
}

/** A template definition (`kind` spec or dockerfile; `definition` JSON, see store/templates.ts). */
export interface TemplatesTable {
  id: string;
  slug: string;
  kind: string;
  definition: string;
  /** Hash of the normalised definition: an unchanged definition is recognised by it. */
  definition_hash: string;
  created_at: string;
  updated_at: string;
}

export interface TemplateBuildsTable {
  id: string;
  template_id: string;
  slug: string;
  definition_hash: string;
  /** queued, building, ready, failed or cancelled. */
  status: string;
  /** The built version (content hash), once ready. */
  version: string | null;
  /** JSON: size, build time and runtime versions of the built template. */
  result: string | null;
  error_code: string | null;
  error_message: string | null;
  /** The server process that builds (or built) it. */
  server: string | null;
  /** Seq of the build's last log line. */
  last_seq: number;
  created_at: string;
  started_at: string | null;
  /** Refreshed while the build runs: a build whose server died stops refreshing it. */
  heartbeat_at: string | null;
  finished_at: string | null;
}

export interface TemplateBuildLogsTable {
  build_id: string;
  seq: number;
  line: string;
}

/**
 * One row (`id` 'current'): a known value sealed with the key the database's secrets are
 * encrypted with, so a server with another key stops at start (see secret-key-check.ts).
 */
export interface SecretKeyCheckTable {
  id: string;
  /** The key's id (`SecretBox.keyId`). */
  key_id: string;
  check_value: string;
  created_at: string;
}

/** A code bundle (custom tools' code): one ES module, named by the SHA-256 of its bytes. */
export interface BundlesTable {
  sha256: string;
  size: number;
  /** The module's text (UTF-8; its bytes hash to `sha256`). */
  code: string;
  created_at: string;
}

/**
 * A secret of the secret store (integration credentials): its value sealed with the server's key
 * (`SecretBox`, bound to the name and scope). `scope` is '' for the server-wide value and a
 * deployment's id for that deployment's own.
 */
/** An account connected to an integration by its OAuth consent flow. */
export interface IntegrationConnectionsTable {
  integration: string;
  /** What the service says the account is: a Slack workspace, a mailbox. */
  account: string;
  connected_at: string;
}

export interface SecretsTable {
  name: string;
  scope: string;
  value: string;
  created_at: string;
  updated_at: string;
}

export interface Schema {
  runtimes: RuntimesTable;
  deployments: DeploymentsTable;
  runs: RunsTable;
  run_events: RunEventsTable;
  api_keys: ApiKeysTable;
  sessions: SessionsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_delivery_attempts: WebhookDeliveryAttemptsTable;
  templates: TemplatesTable;
  template_builds: TemplateBuildsTable;
  template_build_logs: TemplateBuildLogsTable;
  secret_key_check: SecretKeyCheckTable;
  bundles: BundlesTable;
  secrets: SecretsTable;
  integration_connections: IntegrationConnectionsTable;
}
