import { type RunEvent, type RunEventInput, RunToolsError } from '@runtools/sdk';
import type { Kysely } from 'kysely';
import type { Database } from '../db/database.ts';
import type { Schema } from '../db/schema.ts';
import { nowIso } from './ids.ts';

/**
 * The per-run event log. Sequence numbers come from the run row's `last_seq` counter, bumped with
 * `UPDATE ... RETURNING` in the same transaction as the inserts: the row lock (PostgreSQL) or the
 * single writer (SQLite) serialises concurrent appenders, so a run's seqs are 1..N with no gaps
 * and no duplicates, and a rolled-back append consumes none.
 */
export class RunEventRepository {
  readonly #db: Kysely<Schema>;

  constructor(database: Database) {
    this.#db = database.db;
  }

  /** Appends events in order and returns them with their assigned `seq` and `ts`. */
  async append(runId: string, events: readonly RunEventInput[]): Promise<RunEvent[]> {
    if (events.length === 0) return [];
    return this.#db.transaction().execute(async (tx) => {
      const counter = await tx
        .updateTable('runs')
        .set((eb) => ({ last_seq: eb('last_seq', '+', events.length) }))
        .where('id', '=', runId)
        .returning('last_seq')
        .executeTakeFirst();
      if (counter === undefined) {
        throw new RunToolsError('run_not_found', `Run ${runId} does not exist.`, {
          details: { runId },
        });
      }
      const first = Number(counter.last_seq) - events.length + 1;
      const ts = nowIso();
      const stored = events.map((event, i) => ({ ...event, seq: first + i, ts }) as RunEvent);
      await tx
        .insertInto('run_events')
        .values(
          stored.map(({ seq, ts, type, ...payload }) => ({
            run_id: runId,
            seq,
            type,
            payload: JSON.stringify(payload),
            ts,
          })),
        )
        .execute();
      return stored;
    });
  }

  /**
   * Events with `seq > afterSeq`, oldest first, at most `limit` (default 1000): what a client that
   * reconnects with the last seq it saw has missed. `afterSeq = 0` reads from the start.
   */
  async listSince(runId: string, afterSeq = 0, limit = 1000): Promise<RunEvent[]> {
    const rows = await this.#db
      .selectFrom('run_events')
      .selectAll()
      .where('run_id', '=', runId)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(Math.max(1, Math.trunc(limit)))
      .execute();
    return rows.map(
      (row) =>
        ({
          ...(JSON.parse(row.payload) as object),
          type: row.type,
          seq: Number(row.seq),
          ts: row.ts,
        }) as RunEvent,
    );
  }
}
