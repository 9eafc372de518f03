import type { AgentDefinitionInput } from '../agent-definition.ts';

/** A page of a list: pass `nextCursor` back as `cursor`; null on the last page. */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface PageParams {
  /** Items per page (1 to the server's maximum). */
  limit?: number;
  cursor?: string;
}

/** A version of an agent definition (`/v1/runtimes`). */
export interface Runtime {
  id: string;
  slug: string;
  version: number;
  definition: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export type RuntimeInput = AgentDefinitionInput;

/** A runtime plus a template, served at `/v1/run/{api_slug}`. */
export interface Deployment {
  id: string;
  api_slug: string;
  runtime_id: string;
  template: string;
  created_at: string;
  updated_at: string;
}

export interface DeploymentInput {
  api_slug: string;
  runtime_id: string;
  /** The sandbox template's slug. */
  template: string;
}

export type WebhookEventType =
  | 'run.started'
  | 'run.completed'
  | 'run.failed'
  | 'run.paused'
  | 'run.resumed'
  | 'run.cancelled';

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  deployment_id: string | null;
  /** Set for a webhook given with one run: it receives that run's events only. */
  run_id: string | null;
  created_at: string;
}

/** One event sent to a webhook, retried until the receiver answers 2xx (or for about a day). */
export interface WebhookDelivery {
  /** The `webhook-id` header: the same on every retry (the receiver's idempotency key). */
  id: string;
  webhook_id: string;
  run_id: string | null;
  event_type: string;
  payload: unknown;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebhookDeliveryWithAttempts extends WebhookDelivery {
  attempt_log: Array<{
    attempt: number;
    status_code: number | null;
    error: string | null;
    duration_ms: number;
    ts: string;
  }>;
}

/** A new webhook, with its Standard Webhooks secret (`whsec_…`), shown this once only. */
export interface CreatedWebhook extends Webhook {
  secret: string;
}

export interface WebhookInput {
  url: string;
  events: WebhookEventType[];
  /** Only runs of this deployment; omitted or null for every deployment. */
  deployment_id?: string | null;
}

export interface ApiKey {
  id: string;
  /** The key's first characters; never the whole key. */
  prefix: string;
  name: string;
  created_at: string;
  revoked_at: string | null;
}

/** A new API key, with its plaintext `key`, shown this once only. */
export interface CreatedApiKey extends ApiKey {
  key: string;
}

export type RunStatus = 'queued' | 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';

export interface RunError {
  code: string;
  message: string;
}

export interface Run {
  id: string;
  deployment_id: string;
  status: RunStatus;
  input: unknown;
  metadata: Record<string, unknown>;
  output: unknown;
  error: RunError | null;
  /** Seq of the run's last event. */
  last_seq: number;
  attempts: number;
  /** The server worker holding the run, or (once finished) the one that ran it last. */
  worker: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** What `rt.run()` returns: `output` and `error` are null until the run ends (or with `wait: false`). */
export interface RunResult {
  runId: string;
  status: RunStatus;
  output: unknown;
  error: RunError | null;
  /** The run's own webhook (when `webhook` was given): its signing secret is shown this once. */
  webhook?: { id: string; secret: string };
}

export type SandboxState = 'creating' | 'running' | 'paused' | 'stopped';

/** A sandbox (`/v1/sandboxes`): an isolated machine started from a template. */
export interface Sandbox {
  id: string;
  state: SandboxState;
  template: string;
  template_version: string;
  created_at: string;
  updated_at: string;
  cwd: string;
  metadata: Record<string, string>;
  timeout_ms: number | null;
  on_timeout: 'pause' | 'kill';
  /** When a running sandbox will be paused or stopped by its timeout. */
  expires_at: string | null;
  resources: { cpu: number; memory_mib: number; pids: number; disk_mib: number | null };
  network: { mode: 'none' | 'egress'; allow_out: string[] | null };
  /** Size of the memory snapshot of a paused sandbox. */
  snapshot_bytes: number | null;
}

export interface SandboxInput {
  /** The template's slug, e.g. `debian-13`. */
  template: string;
  /** Paused or stopped (`on_timeout`) after running this long (default 15 minutes; 0: never). */
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
  metadata?: Record<string, string>;
  /** What the timeout does (default `kill`). */
  on_timeout?: 'pause' | 'kill';
  resources?: { cpu?: number; memory_mib?: number; pids?: number; disk_mib?: number };
  /** `none` by default; `egress` allows outbound traffic (to `allow_out` CIDRs only, when given). */
  network?: { mode: 'none' | 'egress'; allow_out?: string[] };
}

export interface ExecInput {
  /** A shell command (run by `/bin/sh -c`) or an argv array. */
  command: string | string[];
  cwd?: string;
  env?: Record<string, string>;
  /** The command is killed after this long; the result then has `timedOut: true`. */
  timeoutMs?: number;
  /** Written to the command's stdin, which is then closed. */
  stdin?: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The signal that killed the command, e.g. `SIGKILL`. */
  signal?: string;
  /** Output beyond the server's limit was dropped. */
  truncated: boolean;
  pid: number;
  durationMs: number;
}

/** What `exec` answers for a command started with `background: true`. */
export interface BackgroundStarted {
  pid: number;
  background: true;
}

export interface DirectoryEntry {
  name: string;
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  modified_at: string;
}

export interface DirectoryListing {
  path: string;
  type: 'directory';
  entries: DirectoryEntry[];
}

/** A spec template's definition (`/v1/templates`): what the template contains. */
export interface TemplateSpecInput {
  os: 'debian-13' | 'debian-12' | 'ubuntu-24.04' | 'ubuntu-22.04';
  /** e.g. `{ name: 'node', version: '22' }`, `{ name: 'python', version: '3' }`. */
  runtimes?: Array<{ name: string; version: string }>;
  apt?: string[];
  npm?: string[];
  pip?: string[];
  env?: Record<string, string>;
  /** Started in the background in every new sandbox of the template. */
  startCmd?: string;
  /** Polled after startCmd until it exits 0. */
  readyCmd?: string;
}

/** A file of a Dockerfile's build context: UTF-8 text, or content in an encoding with a mode. */
export type TemplateContextFile =
  | string
  | { content: string; encoding?: 'utf8' | 'base64'; mode?: number };

/** A template definition: a spec, or a Dockerfile with its build context (relative path → file). */
export type TemplateInput =
  | { slug: string; spec: TemplateSpecInput }
  | { slug: string; dockerfile: string; files?: Record<string, TemplateContextFile> };

/** A change to a template: spec fields to replace, or a Dockerfile and/or its files. */
export type TemplatePatch =
  | { spec: Partial<TemplateSpecInput> }
  | { dockerfile?: string; files?: Record<string, TemplateContextFile> };

export type TemplateBuildStatus = 'queued' | 'building' | 'ready' | 'failed' | 'cancelled';

/** One build of a template's definition, on one server. */
export interface TemplateBuild {
  id: string;
  template: string;
  status: TemplateBuildStatus;
  /** The built version (a content hash), once ready. */
  version: string | null;
  error: { code: string; message: string } | null;
  /** The server process that builds (or built) it. */
  server: string | null;
  /** Seq of the last log line. */
  log_lines: number;
  size_bytes: number | null;
  build_ms: number | null;
  runtime_versions: Record<string, string> | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** A template (`/v1/templates`): a system one, or one defined by a spec or a Dockerfile. */
export interface Template {
  /** Null for a system template. */
  id: string | null;
  slug: string;
  kind: 'system' | 'spec' | 'dockerfile';
  /** Of the current definition's latest build; `pending` when it has none yet. */
  status: 'pending' | TemplateBuildStatus;
  /** The version of the current definition's latest ready build. */
  version: string | null;
  spec?: Record<string, unknown>;
  dockerfile?: string;
  /** The paths of the Dockerfile's build context. */
  files?: string[];
  build: TemplateBuild | null;
  /** Whether the server that answered has this version built. */
  built_here: boolean;
  local: {
    version: string;
    size_bytes: number;
    build_ms: number;
    runtime_versions: Record<string, string>;
    created_at: string;
  } | null;
  created_at: string | null;
  updated_at: string | null;
}

/** An item of a build's log stream: a line, and last the build as it ended. */
export type TemplateLogEvent =
  | { type: 'log'; seq: number; line: string }
  | { type: 'status'; build: TemplateBuild };
