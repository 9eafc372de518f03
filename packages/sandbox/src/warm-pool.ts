import type { Sandbox } from './sandbox.ts';

export interface WarmPoolOptions {
  /** Number of ready sandboxes to keep per template. */
  sizes: Record<string, number>;
  boot(template: string): Promise<Sandbox>;
  onError(template: string, error: unknown): void;
}

/**
 * Ready-to-use sandboxes per template, so that `create` is a claim instead of a boot. Refilled
 * in the background, one boot at a time (a 2-core host should not stall its callers to refill).
 */
export class WarmPool {
  private readonly opts: WarmPoolOptions;
  private readonly ready = new Map<string, Sandbox[]>();
  private filling: Promise<void> | null = null;
  private stopped = false;
  private failures = 0;

  constructor(options: WarmPoolOptions) {
    this.opts = options;
  }

  start(): void {
    this.refill();
  }

  /** A ready sandbox of `template`, or undefined when none is ready. */
  take(template: string): Sandbox | undefined {
    const list = this.ready.get(template);
    const sbx = list?.shift();
    if (sbx) this.refill();
    return sbx;
  }

  /** Resolves when every template's pool is full (or a boot failed). */
  async fill(): Promise<void> {
    this.refill();
    while (this.filling) await this.filling;
  }

  /** The ready sandboxes (they hold their template version too). */
  all(): Sandbox[] {
    return [...this.ready.values()].flat();
  }

  /** Stops refilling and deletes the ready sandboxes. */
  async drain(): Promise<void> {
    this.stopped = true;
    while (this.filling) await this.filling;
    const all = [...this.ready.values()].flat();
    this.ready.clear();
    await Promise.all(all.map((s) => s.delete().catch(() => {})));
  }

  private refill(): void {
    if (this.filling || this.stopped) return;
    this.filling = (async () => {
      for (;;) {
        const need = Object.entries(this.opts.sizes).find(
          ([t, n]) => (this.ready.get(t)?.length ?? 0) < n,
        );
        if (!need || this.stopped) return;
        const [template] = need;
        try {
          const sbx = await this.opts.boot(template);
          if (this.stopped) {
            await sbx.delete().catch(() => {});
            return;
          }
          const list = this.ready.get(template) ?? [];
          list.push(sbx);
          this.ready.set(template, list);
          this.failures = 0;
        } catch (err) {
          this.opts.onError(template, err);
          // Back off instead of spinning on a broken template; take() triggers another try.
          if (++this.failures >= 3) return;
        }
      }
    })().finally(() => {
      this.filling = null;
    });
  }
}
