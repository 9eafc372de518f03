import { existsSync, type FSWatcher, watch } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The folders of a project whose changes matter, and the config file at its root. */
const WATCHED_DIRS = ['agents', 'templates'] as const;
const CONFIG_FILE = 'runtools.config.ts';

/** Editors' swap, backup and probe files: saving a file is what counts, not these. */
const EDITOR_NOISE = /(^\.|~$|\.(swp|swx|swo|tmp|bak)$|^4913$|^#.*#$)/;

/** True for a path whose change may change the project. */
export function isProjectChange(path: string): boolean {
  const name = basename(path);
  return name !== '' && !EDITOR_NOISE.test(name);
}

export interface ProjectWatcherOptions {
  root: string;
  /** Called once per burst of changes, `debounceMs` after the last one, with the paths seen. */
  onChange: (paths: string[]) => void;
  /** Default 150 ms: editors write a file in several steps. */
  debounceMs?: number;
}

/**
 * Watches `agents/` and `templates/` (recursively), `runtools.config.ts`, and the files agents
 * import from elsewhere in the project (`watchFiles`) of a project. The
 * project root itself is watched without recursion (never `node_modules/` or `.runtools/`), so a
 * folder created after the start, or a config file an editor replaces, is still seen. Editors'
 * swap and backup files are ignored.
 */
export class ProjectWatcher implements Disposable {
  readonly #root: string;
  readonly #onChange: (paths: string[]) => void;
  readonly #debounceMs: number;
  readonly #dirs = new Map<string, FSWatcher>();
  /** Files elsewhere in the project that agents import (see `watchFiles`), and their folders' watchers. */
  #files = new Set<string>();
  readonly #fileDirs = new Map<string, FSWatcher>();
  #rootWatcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pending = new Set<string>();
  #closed = false;

  constructor(options: ProjectWatcherOptions) {
    this.#root = options.root;
    this.#onChange = options.onChange;
    this.#debounceMs = options.debounceMs ?? 150;
    this.#rootWatcher = watch(this.#root, (_event, name) => {
      if (name === CONFIG_FILE || (name && this.#files.has(name))) this.#changed(name);
      else if (name && (WATCHED_DIRS as readonly string[]).includes(name)) {
        this.#attach(name);
        this.#changed(name);
      }
    });
    for (const dir of WATCHED_DIRS) this.#attach(dir);
  }

  /** Watches `dir` when it exists and is not watched yet; forgets it when it is gone. */
  #attach(dir: string): void {
    if (this.#closed) return;
    const path = join(this.#root, dir);
    const current = this.#dirs.get(dir);
    if (current && existsSync(path)) return;
    current?.close();
    this.#dirs.delete(dir);
    if (!existsSync(path)) return;
    try {
      const watcher = watch(path, { recursive: true }, (_event, name) => {
        this.#changed(name ? join(dir, name.toString()) : dir);
      });
      // The folder was removed (or renamed away): the root watcher re-attaches a new one.
      watcher.on('error', () => {
        watcher.close();
        if (this.#dirs.get(dir) === watcher) this.#dirs.delete(dir);
      });
      this.#dirs.set(dir, watcher);
    } catch {
      // Gone between the check and the watch: the root watcher sees it come back.
    }
  }

  /**
   * Also watches these files (relative to the root) outside the watched folders: what agents
   * import from elsewhere in the project (`lib/orders.ts`), as their bundles list it. Replaces
   * the list given before.
   */
  watchFiles(files: readonly string[]): void {
    if (this.#closed) return;
    this.#files = new Set(
      files.filter(
        (f) =>
          f !== CONFIG_FILE &&
          !f.startsWith('../') &&
          !WATCHED_DIRS.some((dir) => f === dir || f.startsWith(`${dir}/`)),
      ),
    );
    // Files at the root are the root watcher's.
    const dirs = new Set([...this.#files].map((f) => dirname(f)).filter((d) => d !== '.'));
    for (const [dir, watcher] of this.#fileDirs) {
      if (dirs.has(dir)) continue;
      watcher.close();
      this.#fileDirs.delete(dir);
    }
    for (const dir of dirs) {
      if (this.#fileDirs.has(dir)) continue;
      try {
        const watcher = watch(join(this.#root, dir), (_event, name) => {
          const path = name ? join(dir, name.toString()) : '';
          if (this.#files.has(path)) this.#changed(path);
        });
        watcher.on('error', () => {
          watcher.close();
          if (this.#fileDirs.get(dir) === watcher) this.#fileDirs.delete(dir);
        });
        this.#fileDirs.set(dir, watcher);
      } catch {
        // Gone: the agent that imports from it fails to load, and says so.
      }
    }
  }

  #changed(path: string): void {
    if (this.#closed || !isProjectChange(path)) return;
    this.#pending.add(path);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      const paths = [...this.#pending];
      this.#pending.clear();
      this.#onChange(paths);
    }, this.#debounceMs);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#rootWatcher?.close();
    for (const w of this.#dirs.values()) w.close();
    this.#dirs.clear();
    for (const w of this.#fileDirs.values()) w.close();
    this.#fileDirs.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
