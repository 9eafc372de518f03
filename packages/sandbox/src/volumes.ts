import { chown, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SandboxError, VolumeInUseError, VolumeNotFoundError } from './errors.ts';
import { parseOptions, volumeNameSchema } from './options.ts';

export interface VolumeInfo {
  name: string;
  createdAt: string;
  /** Host directory holding the data (owned by the sandbox uid range). */
  hostPath: string;
}

/**
 * Named persistent volumes: host directories bind-mounted into sandboxes. They outlive the
 * sandboxes that use them and are removed only by `delete`, which refuses while one is mounted.
 */
export class VolumeStore {
  private readonly dir: string;
  private readonly ownerId: number;
  private readonly usedBy: (name: string) => string[];

  constructor(dataDir: string, ownerId: number, usedBy: (name: string) => string[]) {
    this.dir = join(dataDir, 'volumes');
    this.ownerId = ownerId;
    this.usedBy = usedBy;
  }

  async create(name: string): Promise<VolumeInfo> {
    parseOptions(volumeNameSchema, name, 'volume name');
    const root = join(this.dir, name);
    if (await stat(root).catch(() => null)) {
      throw new SandboxError('volume_exists', `Volume "${name}" already exists.`, {
        details: { volume: name },
      });
    }
    await mkdir(join(root, 'data'), { recursive: true });
    await chown(join(root, 'data'), this.ownerId, this.ownerId);
    const info: VolumeInfo = {
      name,
      createdAt: new Date().toISOString(),
      hostPath: join(root, 'data'),
    };
    await writeFile(join(root, 'volume.json'), JSON.stringify(info));
    return info;
  }

  async get(name: string): Promise<VolumeInfo> {
    parseOptions(volumeNameSchema, name, 'volume name');
    const text = await readFile(join(this.dir, name, 'volume.json'), 'utf8').catch(() => null);
    if (!text) throw new VolumeNotFoundError(name);
    return JSON.parse(text) as VolumeInfo;
  }

  async list(): Promise<VolumeInfo[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: VolumeInfo[] = [];
    for (const n of names.sort()) out.push(await this.get(n).catch(() => null as never));
    return out.filter(Boolean);
  }

  async delete(name: string): Promise<void> {
    await this.get(name);
    const users = this.usedBy(name);
    if (users.length) throw new VolumeInUseError(name, users);
    await rm(join(this.dir, name), { recursive: true, force: true });
  }
}
