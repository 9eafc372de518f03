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
  created_at: string;
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
  /** Paused or stopped (`on_timeout`) after running this long. */
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
