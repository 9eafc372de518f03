import { randomUUID } from 'node:crypto';
import type { RunEvent } from '@runtools/sdk';
import { sql } from 'kysely';
import pg from 'pg';
import type { Database } from '../db/database.ts';
import type { Store } from '../store/store.ts';
import type { RunEventHub } from './run-event-hub.ts';

const channel = 'runtools_run_events';

export interface PgEventRelayOptions {
  /** The PostgreSQL URL the server's database uses (LISTEN needs its own connection). */
  url: string;
  database: Database;
  store: Store;
  hub: RunEventHub;
  onError?: (error: unknown) => void;
}

/**
 * Live events across server processes on one PostgreSQL. Without it, a stream served by one
 * process sees the events another process's worker appends only when it next polls the store
 * (every second). With it, each process NOTIFYs the newest seq of the runs it appended events to
 * (batched per tick), and the others, for runs someone is streaming from them, read those events
 * from the store and hand them to their hub's subscribers (never to webhooks: the writing process
 * queued those).
 */
export class PgEventRelay {
  readonly #options: PgEventRelayOptions;
  readonly #origin = randomUUID().slice(0, 8);
  readonly #pending = new Map<string, number>();
  #flush: NodeJS.Immediate | undefined;
  #client: pg.Client | undefined;
  #closed = false;

  constructor(options: PgEventRelayOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    await this.#connect();
  }

  /** Call for every event this process stored (after it is in the database). */
  announce(runId: string, event: RunEvent): void {
    if (this.#closed) return;
    this.#pending.set(runId, Math.max(event.seq, this.#pending.get(runId) ?? 0));
    this.#flush ??= setImmediate(() => {
      this.#flush = undefined;
      const batch = [...this.#pending].map(([id, seq]) => `${id}:${seq}`).join(' ');
      this.#pending.clear();
      // One NOTIFY per tick; its payload stays far below PostgreSQL's 8000-byte limit because a
      // server executes a bounded number of runs at once.
      sql`select pg_notify(${channel}, ${`${this.#origin} ${batch}`})`
        .execute(this.#options.database.db)
        .catch((error: unknown) => this.#options.onError?.(error));
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#flush) clearImmediate(this.#flush);
    await this.#client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#options.url });
    client.on('notification', (message) => {
      if (message.channel === channel && message.payload) this.#receive(message.payload);
    });
    // A lost connection (a PostgreSQL restart) falls back to polling until it is back.
    client.on('error', (error) => {
      this.#options.onError?.(error);
      void client.end().catch(() => {});
      if (!this.#closed) setTimeout(() => void this.#connect().catch(() => {}), 1000).unref();
    });
    await client.connect();
    await client.query(`LISTEN ${channel}`);
    this.#client = client;
  }

  #receive(payload: string): void {
    const [origin, ...entries] = payload.split(' ');
    if (origin === this.#origin) return;
    for (const entry of entries) {
      const [runId, seqText] = entry.split(':');
      const seq = Number(seqText);
      if (!runId || !Number.isInteger(seq) || !this.#options.hub.hasSubscribers(runId)) continue;
      // The newest event is enough: a stream that sees a gap before it reads the rest itself.
      this.#options.store.events
        .listSince(runId, seq - 1, 1)
        .then((events) => {
          for (const event of events) this.#options.hub.deliver(runId, event);
        })
        .catch((error: unknown) => this.#options.onError?.(error));
    }
  }
}
