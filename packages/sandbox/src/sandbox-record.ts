import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
  onTimeout: 'pause' | 'kill';
  resources: CreateSandboxOptions['resources'];
  network: CreateSandboxOptions['network'];
  volumes: CreateSandboxOptions['volumes'];
  snapshotBytes?: number;
  pausedAt?: string;
}

/** One JSON file per sandbox, written atomically (temp file + rename). */
export class SandboxRecordStore {
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'sandboxes');
  }

  async save(record: SandboxRecord): Promise<void> {
    const dir = join(this.dir, record.id);
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'sandbox.json');
    await writeFile(`${file}.tmp`, JSON.stringify(record, null, 2));
    await rename(`${file}.tmp`, file);
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
