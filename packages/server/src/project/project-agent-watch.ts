import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ProjectAgentEvent } from '@runtools/sdk/api';
import { type ProjectAgentFiles, sha256 } from './project-agent-files.ts';

type Listener = (event: ProjectAgentEvent) => void;

interface Subscription {
  /** Absolute path of the agent file. */
  path: string;
  listener: Listener;
  /** The file's and its imports' content, as last sent. */
  version: string;
}

/**
 * Tells subscribers when an agent file, or a project file it imports, changes on disk: a new
 * snapshot within the debounce (50 ms) of the change. The builder's own writes are sent once,
 * as `builder`, and the watcher's echo of them is not sent again as an outside change.
 */
export class ProjectAgentWatch implements Disposable {
  readonly #files: ProjectAgentFiles;
  readonly #subscriptions = new Set<Subscription>();
  readonly #watchers = new Map<string, FSWatcher>();
  #timer: NodeJS.Timeout | undefined;
  /** Checks run one after another, so a write's snapshot is sent before the watcher's check. */
  #queue: Promise<void> = Promise.resolve();
  readonly #closed = new AbortController();
  /** Aborted when the watch is disposed (the server stops): streams end. */
  readonly closed: AbortSignal = this.#closed.signal;

  constructor(files: ProjectAgentFiles) {
    this.#files = files;
    files.onWrite = (file) => this.#enqueue(() => this.#check('builder', join(files.root, file)));
  }

  /** Sends `listener` the agent file's snapshot now (`initial`) and at each change; returns the unsubscribe. */
  async subscribe(path: string, listener: Listener): Promise<() => void> {
    // Watching first, then reading: a change while the snapshot is read is not lost.
    await this.#watch();
    const read = await this.#files.read(path);
    const sub: Subscription = { path, listener, version: await this.#version(read.snapshot) };
    this.#subscriptions.add(sub);
    listener({ type: 'snapshot', origin: 'initial', agent: read.snapshot });
    // A recursive watch on Linux adds its folders' watches asynchronously: a change in its first
    // moments may bring no event. Looking again shortly after sends it then (nothing if none).
    setTimeout(() => this.#changed(), 250).unref();
    return () => {
      this.#subscriptions.delete(sub);
      if (this.#subscriptions.size === 0) this.#unwatch();
    };
  }

  #enqueue(task: () => Promise<void>): void {
    this.#queue = this.#queue.then(task).catch(() => {});
  }

  /** Sends a snapshot to each subscriber (of `only`, if given) whose file or imports changed. */
  async #check(origin: 'disk' | 'builder', only?: string): Promise<void> {
    for (const sub of this.#subscriptions) {
      if (only !== undefined && sub.path !== only) continue;
      const exists = await readFile(sub.path).then(
        () => true,
        () => false,
      );
      if (!exists) {
        if (sub.version === '') continue;
        sub.version = '';
        sub.listener({ type: 'snapshot', origin, agent: null });
        continue;
      }
      const read = await this.#files.read(sub.path);
      const version = await this.#version(read.snapshot);
      if (version === sub.version) continue;
      sub.version = version;
      sub.listener({ type: 'snapshot', origin, agent: read.snapshot });
    }
    await this.#watchImports();
  }

  async #version(snapshot: { hash: string; imports: string[] }): Promise<string> {
    const parts = [snapshot.hash];
    for (const file of snapshot.imports) {
      parts.push(await readFile(join(this.#files.root, file), 'utf8').then(sha256, () => ''));
    }
    return sha256(parts.join('\0'));
  }

  #changed = (): void => {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#enqueue(() => this.#check('disk')), 50);
  };

  async #watch(): Promise<void> {
    if (!this.#watchers.has('agents')) {
      try {
        const w = watch(join(this.#files.root, 'agents'), { recursive: true }, this.#changed);
        w.on('error', () => w.close());
        this.#watchers.set('agents', w);
      } catch {
        // No agents/ folder: nothing to watch.
      }
    }
    await this.#watchImports();
  }

  /** Watches the folders of imported files outside agents/ (which the recursive watch covers). */
  async #watchImports(): Promise<void> {
    if (this.#subscriptions.size === 0) return;
    try {
      const dirs = new Set<string>();
      for (const sub of this.#subscriptions) {
        const read = await this.#files.read(sub.path);
        for (const file of read.snapshot.imports) {
          if (!file.startsWith('agents/')) dirs.add(dirname(join(this.#files.root, file)));
        }
      }
      for (const dir of dirs) {
        if (this.#watchers.has(dir)) continue;
        try {
          const w = watch(dir, this.#changed);
          w.on('error', () => w.close());
          this.#watchers.set(dir, w);
        } catch {
          // Gone: the agent's snapshot says so when it is read.
        }
      }
    } catch {
      // A file gone meanwhile: the next change looks again.
    }
  }

  #unwatch(): void {
    clearTimeout(this.#timer);
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
  }

  [Symbol.dispose](): void {
    this.#closed.abort();
    this.#subscriptions.clear();
    this.#unwatch();
  }
}
