import { hostname } from 'node:os';
import type { SandboxEngine } from '@runtools/sandbox';
import { RunToolsError } from '@runtools/sdk';
import type { Store } from '../store/store.ts';
import type { Template, TemplateBuild } from '../store/templates.ts';
import { materializeDefinition } from './template-definition.ts';

/** Who builds: recorded on each build row. */
export const buildServerId = `${hostname()}:${process.pid}`;

const heartbeatMs = 10_000;
const flushMs = 100;
const flushLines = 200;
const maxLineLength = 8192;

type Listener = () => void;
const listeners = new Map<string, Set<Listener>>();

/**
 * Calls `listener` whenever a build of this process stores log lines or changes status; a
 * follower then reads the store. Builds in other processes are only seen by polling the store.
 */
export function onBuildProgress(buildId: string, listener: Listener): () => void {
  let set = listeners.get(buildId);
  if (set === undefined) {
    set = new Set();
    listeners.set(buildId, set);
  }
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0) listeners.delete(buildId);
  };
}

function notify(buildId: string): void {
  for (const listener of listeners.get(buildId) ?? []) listener();
}

/**
 * Buffers a build's log lines and appends them to the store in batches (every 100 ms or 200
 * lines), one batch at a time so their seqs follow the order of the lines.
 */
class BuildLogWriter {
  readonly #store: Store;
  readonly #buildId: string;
  #pending: string[] = [];
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(store: Store, buildId: string) {
    this.#store = store;
    this.#buildId = buildId;
  }

  push(text: string): void {
    for (const line of text.split(/\r?\n/)) {
      this.#pending.push(line.length > maxLineLength ? `${line.slice(0, maxLineLength)}…` : line);
    }
    if (this.#pending.length >= flushLines) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), flushMs);
  }

  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#chain = this.#chain.then(async () => {
      const lines = this.#pending.splice(0);
      if (lines.length === 0) return;
      // A line the database refused is lost; the build goes on and its status still says how it ended.
      await this.#store.templates.appendLogs(this.#buildId, lines).then(
        () => notify(this.#buildId),
        () => {},
      );
    });
    return this.#chain;
  }
}

interface ActiveBuild {
  readonly build: TemplateBuild;
  readonly definitionHash: string;
  readonly controller: AbortController;
  readonly done: Promise<TemplateBuild>;
}

/**
 * Runs the template builds of one sandbox engine in this process, in the background, recording
 * each in the store: status, heartbeat, every log line, and the result. One per engine
 * (`templateBuilder(engine)`), shared by the API and the run worker, so a template being built is
 * built once and the others wait for that build.
 */
export class TemplateBuilder {
  readonly #engine: SandboxEngine;
  readonly #active = new Map<string, ActiveBuild>();
  /** Slug → definition hash of what this process built or found built: no more checks needed. */
  readonly #ensured = new Map<string, string>();

  constructor(engine: SandboxEngine) {
    this.#engine = engine;
  }

  /** The build of this definition of `template` running in this process, if any. */
  running(template: Template): ActiveBuild | undefined {
    for (const active of this.#active.values()) {
      if (active.build.slug === template.slug && active.definitionHash === template.definitionHash)
        return active;
    }
    return undefined;
  }

  /** Whether this process has seen `template`'s current definition built. */
  isEnsured(template: Template): boolean {
    return this.#ensured.get(template.slug) === template.definitionHash;
  }

  markEnsured(template: Template): void {
    this.#ensured.set(template.slug, template.definitionHash);
  }

  /**
   * Starts building `template`'s current definition (or joins the build of it already running
   * here) and returns the build as recorded, queued or building; `done` settles when it ends.
   */
  async start(
    store: Store,
    template: Template,
  ): Promise<{ build: TemplateBuild; done: Promise<TemplateBuild> }> {
    const running = this.running(template);
    if (running !== undefined) {
      const current = await store.templates.getBuild(running.build.id);
      return { build: current ?? running.build, done: running.done };
    }
    const build = await store.templates.createBuild(template, buildServerId);
    const controller = new AbortController();
    const done = this.#run(store, template, build, controller.signal).finally(() => {
      this.#active.delete(build.id);
      notify(build.id);
    });
    this.#active.set(build.id, {
      build,
      definitionHash: template.definitionHash,
      controller,
      done,
    });
    return { build, done };
  }

  /** Cancels the builds of `slug` running here and waits for them to end. */
  async cancel(slug: string): Promise<void> {
    const builds = [...this.#active.values()].filter((a) => a.build.slug === slug);
    for (const active of builds) active.controller.abort();
    await Promise.allSettled(builds.map((a) => a.done));
    this.#ensured.delete(slug);
  }

  /** Cancels every build running here (a server shutting down) and waits for them to end. */
  async close(): Promise<void> {
    const builds = [...this.#active.values()];
    for (const active of builds) active.controller.abort();
    await Promise.allSettled(builds.map((a) => a.done));
  }

  async #run(
    store: Store,
    template: Template,
    build: TemplateBuild,
    signal: AbortSignal,
  ): Promise<TemplateBuild> {
    const log = new BuildLogWriter(store, build.id);
    const controller = new AbortController();
    const abort = () => controller.abort();
    signal.addEventListener('abort', abort, { once: true });
    // The heartbeat tells other servers this build is alive; a build marked ended meanwhile
    // (abandoned by a long stall) is stopped, since its result would be recorded nowhere.
    const heartbeat = setInterval(() => {
      store.templates.heartbeat(build.id).then(
        (alive) => {
          if (!alive) controller.abort();
        },
        () => {},
      );
    }, heartbeatMs);
    try {
      await store.templates.startBuild(build.id, buildServerId);
      notify(build.id);
      await using input = await materializeDefinition(template.slug, template.definition);
      const info = await this.#engine.templates.build(input.definition, {
        onLog: (line) => log.push(line),
        signal: controller.signal,
      });
      await log.flush();
      const ready = await store.templates.finishBuild(build.id, {
        status: 'ready',
        version: info.version,
        result: { sizeBytes: info.sizeBytes, buildMs: info.buildMs, versions: info.versions },
      });
      this.#ensured.set(template.slug, template.definitionHash);
      return ready ?? (await requireBuild(store, build.id));
    } catch (error) {
      const cancelled = controller.signal.aborted;
      const code = cancelled
        ? 'template_build_cancelled'
        : RunToolsError.isInstance(error)
          ? error.code
          : 'template_build_failed';
      const message = cancelled
        ? 'The build was cancelled.'
        : ((error as Error)?.message ?? String(error));
      log.push(`error: ${message}`);
      await log.flush();
      const ended = await store.templates
        .finishBuild(build.id, {
          status: cancelled ? 'cancelled' : 'failed',
          error: { code, message },
        })
        .catch(() => undefined);
      return ended ?? (await requireBuild(store, build.id).catch(() => build));
    } finally {
      clearInterval(heartbeat);
      signal.removeEventListener('abort', abort);
    }
  }
}

async function requireBuild(store: Store, id: string): Promise<TemplateBuild> {
  const build = await store.templates.getBuild(id);
  if (build === undefined) {
    throw new RunToolsError('template_build_not_found', `Build ${id} does not exist.`, {
      details: { buildId: id },
    });
  }
  return build;
}

const builders = new WeakMap<SandboxEngine, TemplateBuilder>();

/** The builder of `engine` in this process (created on first use). */
export function templateBuilder(engine: SandboxEngine): TemplateBuilder {
  let builder = builders.get(engine);
  if (builder === undefined) {
    builder = new TemplateBuilder(engine);
    builders.set(engine, builder);
  }
  return builder;
}
