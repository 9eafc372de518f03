import { mkdir, open, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { syncPath } from './host/sync-tree.ts';
import type { CreateSandboxOptions } from './options.ts';
import type { SandboxState } from './state.ts';

/** What the engine knows about a sandbox, persisted so sandboxes outlive an engine restart. */
export interface SandboxRecord {
  id: string;
  state: SandboxState;
  template: string;
  templateVersion: string;
  rootfs: string;
  createdAt: string;
  updatedAt: string;
  env: Record<string, string>;
  cwd: string;
  metadata: Record<string, string>;
  timeoutMs?: number;
  /** When a running sandbox's timeout fires (ISO time); kept on disk across engine restarts. */
  expiresAt?: string;
  onTimeout: 'pause' | 'kill';
  resources: CreateSandboxOptions['resources'];
  network: CreateSandboxOptions['network'];
  volumes: CreateSandboxOptions['volumes'];
  snapshotBytes?: number;
  pausedAt?: string;
}

/**
 * One JSON file per sandbox, written atomically (temp file + rename) and readable by root only:
 * a record holds the sandbox's env values. A durable save (a pause) also reaches the disk before
 * it returns.
 */
export class SandboxRecordStore {
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'sandboxes');
  }

  private readonly writing = new Map<string, Promise<void>>();

  /**
   * Saves a record; saves of one sandbox run one after another (they share a temp file), each
   * writing the record as it is when its turn comes.
   */
  save(record: SandboxRecord, options: { durable?: boolean } = {}): Promise<void> {
    const previous = this.writing.get(record.id) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.write(record, options));
    this.writing.set(record.id, next);
    void next
      .finally(() => {
        if (this.writing.get(record.id) === next) this.writing.delete(record.id);
      })
      .catch(() => {});
    return next;
  }

  private async write(record: SandboxRecord, options: { durable?: boolean }): Promise<void> {
    const dir = join(this.dir, record.id);
    await mkdir(dir, { recursive: true, mode: 0o711 });
    const file = join(dir, 'sandbox.json');
    const tmp = `${file}.tmp`;
    const f = await open(tmp, 'w', 0o600);
    try {
      // A file left by an older engine keeps its mode on open: make sure of it.
      await f.chmod(0o600);
      await f.writeFile(JSON.stringify(record, null, 2));
      if (options.durable) await f.sync();
    } finally {
      await f.close();
    }
    await rename(tmp, file);
    if (options.durable) await syncPath(dir);
  }

  async loadAll(): Promise<SandboxRecord[]> {
    const ids = await readdir(this.dir).catch(() => [] as string[]);
    const records: SandboxRecord[] = [];
    for (const id of ids) {
      const text = await readFile(join(this.dir, id, 'sandbox.json'), 'utf8').catch(() => null);
      if (!text) continue;
      try {
        records.push(JSON.parse(text) as SandboxRecord);
      } catch {
        // A torn file cannot happen with rename, but a hand-edited one can: treat as orphan.
      }
    }
    return records;
  }
}
