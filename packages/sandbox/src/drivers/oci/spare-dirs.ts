import { randomBytes } from 'node:crypto';
import { readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Sandbox directories made ahead, off the create path: `<sandboxes>/.spare-<random>`, each with
 * its disk image formatted and loop-mounted and its layer dirs made (~40 ms under load, two
 * thirds of what a cold create adds for its disk). A create renames one to the sandbox's id (the
 * mount moves with it). A spare is named without `.tmp` only once it is complete; whatever a
 * crashed engine left is removed by the next one like any directory without a record.
 */
export class SpareDirs {
  private readonly dir: string;
  private readonly count: number;
  private readonly prepare: (dir: string) => Promise<void>;
  private readonly remove: (dir: string) => Promise<void>;
  private refilling: Promise<void> | null = null;
  private closed = false;

  constructor(options: {
    /** Where sandbox directories live. */
    dir: string;
    count?: number;
    /** Makes a complete sandbox directory at `dir` (undone by `remove` when it fails). */
    prepare: (dir: string) => Promise<void>;
    remove: (dir: string) => Promise<void>;
  }) {
    this.dir = options.dir;
    this.count = options.count ?? 2;
    this.prepare = options.prepare;
    this.remove = options.remove;
  }

  /**
   * Moves a ready spare to `dest`; false when none is ready (then the caller makes its own). The
   * caller calls `refill()` once its create is done: making a spare meanwhile would slow it.
   */
  async take(dest: string): Promise<boolean> {
    if (this.closed) return false;
    for (const name of await this.ready()) {
      try {
        await rename(join(this.dir, name), dest);
        return true;
      } catch {
        // Taken by a concurrent create meanwhile: try the next one.
      }
    }
    return false;
  }

  /** Starts making spares up to the target count, unless that is under way already. */
  refill(): void {
    if (this.refilling || this.closed) return;
    this.refilling = (async () => {
      while (!this.closed && (await this.ready()).length < this.count) {
        const name = `.spare-${randomBytes(6).toString('hex')}`;
        const tmp = join(this.dir, `${name}.tmp`);
        try {
          await this.prepare(tmp);
          await rename(tmp, join(this.dir, name));
        } catch {
          await this.remove(tmp).catch(() => {});
          return; // creates make their own; the next create tries again
        }
      }
    })().finally(() => {
      this.refilling = null;
    });
  }

  /** Stops refilling and removes the spares: nothing of them stays mounted. */
  async close(): Promise<void> {
    this.closed = true;
    await this.refilling;
    for (const name of await this.ready()) await this.remove(join(this.dir, name)).catch(() => {});
  }

  private async ready(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => /^\.spare-[0-9a-f]+$/.test(n));
  }
}
