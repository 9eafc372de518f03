import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RuntimeError } from '../../errors.ts';
import { run } from './command.ts';

/**
 * Sandbox disks: sparse ext4 images, one per sandbox. Formatting one takes 15–50 ms (mkfs writes
 * ~2 MiB of metadata), so a few images of the usual size are formatted ahead of time, off the
 * create path, in `<dir>/spare-<MiB>-<random>.img`; a create renames one into its sandbox. An
 * image is named `.img` only once mkfs has finished, so a crash never leaves a half-made spare.
 */
export class DiskImages {
  private readonly dir: string;
  private readonly spareSizeMiB: number;
  private readonly spares: number;
  private refilling: Promise<void> | null = null;
  private closed = false;

  constructor(options: { dir: string; spareSizeMiB: number; spares?: number }) {
    this.dir = options.dir;
    this.spareSizeMiB = options.spareSizeMiB;
    this.spares = options.spares ?? 2;
  }

  /** Puts a formatted image of `sizeMiB` at `dest` (a spare when one is ready). */
  async create(dest: string, sizeMiB: number): Promise<void> {
    if (sizeMiB === this.spareSizeMiB) {
      for (const name of await this.ready()) {
        try {
          await rename(join(this.dir, name), dest);
          this.refill();
          return;
        } catch {
          // Taken by a concurrent create meanwhile: try the next one.
        }
      }
      this.refill();
    }
    await format(dest, sizeMiB);
  }

  /** Starts formatting spares up to the target count, unless that is under way already. */
  refill(): void {
    if (this.refilling || this.closed) return;
    this.refilling = (async () => {
      await mkdir(this.dir, { recursive: true });
      while (!this.closed && (await this.ready()).length < this.spares) {
        const name = `spare-${this.spareSizeMiB}-${randomBytes(6).toString('hex')}.img`;
        const tmp = join(this.dir, `${name}.tmp`);
        try {
          await format(tmp, this.spareSizeMiB);
          await rename(tmp, join(this.dir, name));
        } catch {
          await rm(tmp, { force: true });
          return; // creates format their own; the next create tries again
        }
      }
    })().finally(() => {
      this.refilling = null;
    });
  }

  /** Stops refilling and waits for a format in progress (spares stay for the next engine). */
  async close(): Promise<void> {
    this.closed = true;
    await this.refilling;
  }

  /** Removes what an interrupted format left. */
  async removeUnfinished(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    await Promise.all(
      names.filter((n) => n.endsWith('.tmp')).map((n) => rm(join(this.dir, n), { force: true })),
    );
  }

  private async ready(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => n.startsWith(`spare-${this.spareSizeMiB}-`) && n.endsWith('.img'));
  }
}

/** A sparse ext4 image of `sizeMiB`, readable by root only. */
async function format(path: string, sizeMiB: number): Promise<void> {
  await writeFile(path, '', { flag: 'wx', mode: 0o600 });
  await truncate(path, sizeMiB * 1024 * 1024);
  // No journal (a sandbox's disk is synced when it pauses); no discard and lazy inode tables,
  // since a sparse file reads as zeros already.
  const mkfs = await run('mkfs.ext4', [
    '-q',
    '-F',
    '-m',
    '0',
    '-O',
    '^has_journal',
    '-E',
    'lazy_itable_init=1,nodiscard',
    path,
  ]);
  if (mkfs.code !== 0) {
    await rm(path, { force: true });
    throw new RuntimeError('mkfs.ext4 (sandbox disk)', mkfs.stderr);
  }
}
