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

  /**
   * Appends events in order and returns them with their assigned `seq` and `ts`. The run's
   * `steps` and token counters grow by its `step` events in the same update.
   */
  async append(runId: string, events: readonly RunEventInput[]): Promise<RunEvent[]> {
    if (events.length === 0) return [];
    const steps = stepTotals(events);
    return this.#db.transaction().execute(async (tx) => {
      const counter = await tx
        .updateTable('runs')
        .set((eb) => ({
          last_seq: eb('last_seq', '+', events.length),
          ...(steps.steps === 0
            ? {}
            : {
                steps: eb('steps', '+', steps.steps),
                input_tokens: eb('input_tokens', '+', steps.inputTokens),
                output_tokens: eb('output_tokens', '+', steps.outputTokens),
                total_tokens: eb('total_tokens', '+', steps.totalTokens),
              }),
        }))
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

/** How many `step` events `events` holds and the tokens they report. */
function stepTotals(events: readonly RunEventInput[]) {
  const totals = { steps: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0 };
  // A provider that reports no count for a field gives 0, not NaN, to an integer column.
  const tokens = (value: number) => (Number.isFinite(value) ? Math.max(0, Math.round(value)) : 0);
  for (const event of events) {
    if (event.type !== 'step') continue;
    totals.steps += 1;
    totals.inputTokens += tokens(event.usage.inputTokens);
    totals.outputTokens += tokens(event.usage.outputTokens);
    totals.totalTokens += tokens(event.usage.totalTokens);
  }
  return totals;
}
