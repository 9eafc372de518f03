import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  type LoadedProject,
  loadProject,
  loopbackRanges,
  type ProjectAgent,
  type ProjectProblem,
} from '@runtools/agent';
import type { SandboxEngine } from '@runtools/sandbox';
import { type RunEvent, RunTools } from '@runtools/sdk';
import {
  type Logger,
  type OutboundSettings,
  type RunningServer,
  type StopResult,
  startServer,
} from '@runtools/server';
import { type SyncResult, syncProject } from '../project-sync.ts';
import type { OutputStream } from '../render/terminal-style.ts';
import { syncTemplates } from '../template-sync.ts';
import { writeEngineOwner } from './dev-engines.ts';
import { removeDevState, writeDevState } from './dev-state.ts';
import { ProjectWatcher } from './project-watcher.ts';

/** Where `runtools dev` keeps sandboxes: outside the project, whose folders the sandbox uid may not traverse. */
export const DEV_ENGINE_ROOT = '/var/lib/runtools/dev';
/** Built templates shared by every project (and the server), so nodejs-20 is built once. */
export const SHARED_TEMPLATES_DIR = '/var/lib/runtools/templates';

/** What `runtools dev` allows webhooks and custom model endpoints to reach besides the operator's ranges. */
export const DEV_LOOPBACK: readonly string[] = loopbackRanges;

/** What one (re)load of the project did. */
export interface DevReload {
  /** The changed paths that caused it (empty at the start). */
  trigger: string[];
  /** Broken files that are new, or whose error changed; what they defined before keeps serving. */
  problems: ProjectProblem[];
  /** Files that were broken and load again. */
  fixed: string[];
  /** Templates (`templates/NAME/Dockerfile`) built by this reload. */
  built: string[];
  /** The agents' sync; undefined when it failed or was skipped (a broken config). */
  result?: SyncResult;
  /** What failed: a template build, or the sync (e.g. the server refused a definition). */
  errors: unknown[];
}

/** What a dev server tells the terminal; every method is optional. */
export interface DevReporter {
  reloaded?(reload: DevReload): void;
  /** A template used by an agent: being built, ready (booted once), or failed. */
  template?(slug: string, state: 'building' | 'ready' | 'failed', detail: string): void;
  runEvent?(runId: string, event: RunEvent): void;
  log?: Logger;
}

export interface DevServerOptions {
  root: string;
  /** Default: `dev.port` of runtools.config.ts (3000). */
  port?: number;
  host: string;
  /** Sandbox ports are served at `{port}-{sandboxId}.{domain}` (default `localhost`). */
  domain?: string;
  apiKey: string;
  /** Model keys and endpoints for the runs. */
  modelEnv: Record<string, string>;
  /**
   * The values custom tools' declared secrets come from (`runtools dev` passes its own
   * environment; a tool gets only the variables it declares).
   */
  toolSecrets?: Readonly<Record<string, string>>;
  /**
   * The operator's outbound settings (`RUNTOOLS_WEBHOOK_ALLOW`, …, as `readOutboundSettings`
   * reads them). Loopback is added to the ranges webhooks and custom model endpoints may reach
   * (`DEV_LOOPBACK`): a dev server's machine is its developer's.
   */
  outbound?: Partial<OutboundSettings>;
  /** Default `/var/lib/runtools/templates`. */
  templatesDir?: string;
  /** Default `/var/lib/runtools/dev/<hash of the project's path>`. */
  engineDataDir?: string;
  reporter?: DevReporter;
  /** Watch debounce (default 150 ms). */
  debounceMs?: number;
  /** Where template builds report their steps (plain lines); nowhere without it. */
  templateProgress?: OutputStream;
}

export interface DevServer {
  readonly url: string;
  readonly apiKey: string;
  readonly server: RunningServer;
  /** The last sync's result. */
  readonly last: SyncResult;
  /**
   * Stops watching, drains the server, pauses the sandboxes made through its API (nothing of
   * this project keeps running on the host) and removes `.runtools/dev.json`.
   */
  stop(): Promise<StopResult>;
}

/** The engine data directory of a project: one per project path, traversable by sandbox uids. */
export function devEngineDataDir(root: string): string {
  const hash = createHash('sha256').update(realpathSync(root)).digest('hex').slice(0, 16);
  return join(DEV_ENGINE_ROOT, hash);
}

/** Makes every directory from `/` down to `dir` traversable by others (sandbox uids). */
function ensureTraversable(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const parts = dir.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const d = `/${parts.slice(0, i).join('/')}`;
    const mode = statSync(d).mode;
    if (!(mode & 0o001)) chmodSync(d, (mode & 0o7777) | 0o711);
  }
}

/**
 * `runtools dev` without the terminal: starts a server in this process for the project at `root`
 * (SQLite in its data dir, `.runtools/` by default; sandboxes under `/var/lib/runtools/dev/…`),
 * builds its `templates/NAME/Dockerfile` templates, deploys every agent under its slug, writes
 * `.runtools/dev.json`, builds (system templates) and boots each agent's template once in the
 * background, and re-syncs whenever `agents/`, `templates/`, `runtools.config.ts` or a file an
 * agent with custom tools imports from elsewhere in the project change. A broken file is reported and what it defined before keeps serving.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const { root, reporter = {} } = options;
  const first = await loadProject(root);
  const engineDataDir = options.engineDataDir ?? devEngineDataDir(root);
  ensureTraversable(engineDataDir);
  writeEngineOwner(engineDataDir, realpathSync(root));
  // Runs read the project's settings (web search, OpenAI-compatible server) as last loaded.
  let projectConfig = first.config;
  const server = await startServer({
    projectConfig: () => projectConfig,
    // The agent builder (/v1/project/agents) edits the project's agent files.
    projectRoot: root,
    dataDir: join(root, first.config.dataDir),
    engineDataDir,
    templatesDir: options.templatesDir ?? SHARED_TEMPLATES_DIR,
    port: options.port ?? first.config.dev.port,
    host: options.host,
    // Each sandbox port on a host of its own (`{port}-{id}.localhost`, which browsers resolve
    // to loopback): a sandbox's page is then not of the API's origin.
    domain: options.domain ?? 'localhost',
    apiKey: options.apiKey,
    modelEnv: options.modelEnv,
    toolSecrets: options.toolSecrets ?? {},
    toolSecretsHelp: '(the one runtools dev was started in)',
    webhookAllow: [...DEV_LOOPBACK, ...(options.outbound?.webhookAllow ?? [])],
    modelEndpointAllow: [...DEV_LOOPBACK, ...(options.outbound?.modelEndpointAllow ?? [])],
    modelBaseURLs: options.outbound?.modelBaseURLs ?? [],
    modelKeyVariables: options.outbound?.modelKeyVariables ?? [],
    integrationAllow: options.outbound?.integrationAllow ?? [],
    integrationBaseUrls: options.outbound?.integrationBaseUrls ?? {},
    // A fresh project runs end to end without a key; the demo model says what it is.
    demoModel: true,
    ...(reporter.log ? { logger: reporter.log } : {}),
    ...(reporter.runEvent ? { onRunEvent: reporter.runEvent } : {}),
  });
  const client = new RunTools({ apiKey: options.apiKey, baseUrl: server.url });
  /** The agent each file defined when it last loaded without a problem. */
  const lastGood = new Map<string, ProjectAgent>();
  const prewarmed = new Set<string>();
  const prewarms: Promise<void>[] = [];
  const stopPrewarm = new AbortController();
  let last: SyncResult = { changes: [], endpoints: [] };

  /** The problem of each broken file, as last reported. */
  let reported = new Map<string, string>();

  const sync = async (project: LoadedProject, trigger: string[]): Promise<void> => {
    // A broken runtools.config.ts keeps the last good settings, as a broken agent file does.
    if (!project.problems.some((p) => p.file === 'runtools.config.ts'))
      projectConfig = project.config;
    const now = new Map(project.problems.map((p) => [p.file, p.message]));
    const reload: DevReload = {
      trigger,
      problems: project.problems.filter((p) => reported.get(p.file) !== p.message),
      fixed: [...reported.keys()].filter((file) => !now.has(file)),
      built: [],
      errors: [],
    };
    reported = now;
    // A broken config would silently change every agent's defaults: keep serving what runs now.
    if (now.has('runtools.config.ts')) return reporter.reloaded?.(reload);
    const files = new Set(project.agents.map((a) => a.file));
    for (const file of lastGood.keys()) {
      if (!files.has(file) && !now.has(file)) lastGood.delete(file);
    }
    for (const a of project.agents) lastGood.set(a.file, a);
    const agents = [...project.agents];
    for (const p of project.problems) {
      const good = lastGood.get(p.file);
      if (good && !agents.some((a) => a.agent.slug === good.agent.slug)) agents.push(good);
    }
    // Templates first: a deployment names its template, and its runs boot from it.
    try {
      const templates = await syncTemplates(client, project.templates, {
        ...(options.templateProgress ? { progress: options.templateProgress, live: false } : {}),
      });
      reload.built = templates.filter((t) => t.action !== 'unchanged').map((t) => t.slug);
    } catch (error) {
      reload.errors.push(error);
    }
    try {
      last = await syncProject(
        client,
        { agents, problems: project.problems, config: project.config, root },
        { prune: true },
      );
      reload.result = last;
      if (watching) watchImports(watching, last);
    } catch (error) {
      reload.errors.push(error);
    }
    reporter.reloaded?.(reload);
    for (const a of agents) {
      if (prewarmed.has(a.agent.template)) continue;
      prewarmed.add(a.agent.template);
      prewarms.push(prewarm(server.engine, a.agent.template, reporter, stopPrewarm.signal));
    }
  };

  let stopped = false;
  let watching: ProjectWatcher | undefined;
  await sync(first, []);
  writeDevState(root, { url: server.url, apiKey: options.apiKey, pid: process.pid });

  // One sync at a time; changes during a sync start one more after it.
  let running: Promise<void> | undefined;
  let again: string[] | undefined;
  const resync = (paths: string[]) => {
    if (stopped) return;
    if (running) {
      again = [...(again ?? []), ...paths];
      return;
    }
    running = (async () => {
      try {
        await sync(await loadProject(root), paths);
      } finally {
        running = undefined;
        const next = again;
        again = undefined;
        if (next) resync(next);
      }
    })();
  };
  const watcher = new ProjectWatcher({
    root,
    onChange: resync,
    ...(options.debounceMs !== undefined ? { debounceMs: options.debounceMs } : {}),
  });
  watching = watcher;
  watchImports(watcher, last);

  let stopping: Promise<StopResult> | undefined;
  return {
    url: server.url,
    apiKey: options.apiKey,
    server,
    get last() {
      return last;
    },
    stop() {
      stopping ??= (async () => {
        stopped = true;
        watcher.close();
        await running?.catch(() => {});
        // A prewarm sandbox must not outlive the engine; a template build in progress is abandoned.
        stopPrewarm.abort();
        await Promise.all(prewarms);
        try {
          return await server.stop({ drain: true, pauseSandboxes: true });
        } finally {
          removeDevState(root, process.pid);
        }
      })();
      return stopping;
    },
  };
}

/** Watches what the agents' bundles hold from outside agents/ (`lib/orders.ts`), too. */
function watchImports(watcher: ProjectWatcher, result: SyncResult): void {
  watcher.watchFiles(result.endpoints.flatMap((e) => e.bundleFiles ?? []));
}

/** Builds a template when needed and boots one sandbox of it, so the first run starts fast. */
async function prewarm(
  engine: SandboxEngine,
  slug: string,
  reporter: DevReporter,
  signal: AbortSignal,
): Promise<void> {
  const started = performance.now();
  try {
    const built = (await engine.templates.list()).some((t) => t.slug === slug);
    if (!built) reporter.template?.(slug, 'building', 'first use, a minute or two');
    // A build prints its log; every 15 s the last line shows that it is moving.
    let lastLine = '';
    const progress = setInterval(() => {
      const seconds = Math.round((performance.now() - started) / 1000);
      reporter.template?.(slug, 'building', `${seconds} s${lastLine ? `: ${lastLine}` : ''}`);
    }, 15_000);
    try {
      await engine.templates.get(slug, {
        signal,
        onLog: (line) => {
          if (line.trim()) lastLine = line.trim().slice(0, 100);
        },
      });
    } finally {
      clearInterval(progress);
    }
    if (signal.aborted) return;
    const sandbox = await engine.create({ template: slug, metadata: { purpose: 'prewarm' } });
    await sandbox.delete();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    reporter.template?.(slug, 'ready', built ? `booted in ${seconds} s` : `built in ${seconds} s`);
  } catch (error) {
    if (signal.aborted) return;
    reporter.template?.(slug, 'failed', (error as Error)?.message ?? String(error));
  }
}
