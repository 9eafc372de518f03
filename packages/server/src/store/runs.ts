import { RunToolsError } from '@runtools/sdk';
import {
  type ApprovalDecision,
  type RunApproval,
  type RunStatus,
  runStatuses,
} from '@runtools/sdk/api';
import { type ExpressionBuilder, type Kysely, type Selectable, sql } from 'kysely';
import type { Database, Dialect } from '../db/database.ts';
import type { RunsTable, Schema } from '../db/schema.ts';
import { newId, nowIso } from './ids.ts';
import { type Page, type PageRequest, pageLimit, toPage } from './pagination.ts';

export { type RunStatus, runStatuses };

/**
 * The run state machine. `running -> queued` hands a run back to the queue (a draining server);
 * `paused -> queued` is resume and `waiting -> queued` an answered approval (any worker may claim
 * it). Terminal states have no way out.
 */
export const runTransitions: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  queued: ['running', 'cancelled', 'failed'],
  running: ['paused', 'waiting', 'completed', 'failed', 'cancelled', 'queued'],
  paused: ['queued', 'running', 'cancelled', 'failed'],
  waiting: ['queued', 'cancelled', 'failed'],
  completed: [],
  failed: [],
  cancelled: [],
};

const terminal: readonly RunStatus[] = ['completed', 'failed', 'cancelled'];
/** Statuses in which no worker holds the run. */
const unclaimed: readonly RunStatus[] = ['queued', 'paused', 'waiting', ...terminal];

/**
 * The approval a run asked for, as stored: the request, and once answered (or expired) the
 * decision, which the worker that continues the run applies to the waiting call.
 */
export interface StoredApproval extends RunApproval {
  answer?: { decision: ApprovalDecision; reason?: string; at: string };
}

export interface Run {
  id: string;
  deploymentId: string;
  status: RunStatus;
  input: unknown;
  metadata: Record<string, unknown>;
  output: unknown;
  error: { code: string; message: string } | null;
  /** The agent loop's last checkpoint (its `LoopState`), or null before the first step. */
  checkpoint: unknown;
  /** Seq of the last event appended to the run's log (0 when none). */
  lastSeq: number;
  /** Model calls finished so far (`step` events appended). */
  steps: number;
  /** The tokens of those model calls. */
  usage: { inputTokens: number; outputTokens: number; totalTokens: number };
  /** How many times a worker has claimed the run; more than 1 means it was resumed or reclaimed. */
  attempts: number;
  /** The worker holding the run; for a finished run, the one that ran it last. */
  claimedBy: string | null;
  claimedAt: string | null;
  leaseExpiresAt: string | null;
  /** The run's sandbox while it has one (kept, paused, while the run is `waiting` or `paused`). */
  sandboxId: string | null;
  /**
   * The approval the run asks for while `waiting`; after the answer, until the call it was about
   * has run (the next checkpoint), the decision too.
   */
  approval: StoredApproval | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface CreateRunInput {
  /** A run id made beforehand (`newId('run')`), e.g. to subscribe a webhook before it exists. */
  id?: string;
  deploymentId: string;
  input: unknown;
  metadata?: Record<string, unknown>;
}

export interface ListRunsFilter extends PageRequest {
  deploymentId?: string;
  /** Only runs of these deployments (with `deploymentId`, of both): a restricted key's view. */
  deploymentIds?: readonly string[];
  status?: RunStatus | readonly RunStatus[];
  /** Only runs created at or after this time (ISO 8601). */
  createdAfter?: string;
  /** Only runs created before this time (ISO 8601). */
  createdBefore?: string;
  /** Only runs whose id starts with this. */
  idPrefix?: string;
}

export interface TransitionOptions {
  /** The run's final output (with `completed`). */
  output?: unknown;
  /** Why the run failed (with `failed`), e.g. `{ code: 'server_restart', message }`. */
  error?: { code: string; message: string };
  /** Only succeed while this worker holds the claim (a worker whose lease was taken loses). */
  worker?: string;
  /**
   * Only from these statuses (a subset of the legal ones), e.g. cancel a run only while no worker
   * holds it; from any other status the transition is a `run_state` error.
   */
  from?: readonly RunStatus[];
  /** The loop's state to store with the change (a waiting run's, with its pending call). */
  checkpoint?: unknown;
  /** The run's sandbox (kept paused while it waits or is paused); null: it has none now. */
  sandboxId?: string | null;
  /** With `waiting`: what it asks a person about. */
  approval?: RunApproval;
}

/** What a control request asks of the worker executing a run. */
export type ControlRequest = 'pause' | 'cancel';

export interface ClaimOptions {
  /** How long the claim lasts without a `heartbeat`; after it, another worker may reclaim. */
  leaseMs: number;
}

type RunRow = Selectable<RunsTable>;

/** Runs: the durable queue and state machine of agent runs. */
export class RunRepository {
  readonly #db: Kysely<Schema>;
  readonly #dialect: Dialect;

  constructor(database: Database) {
    this.#db = database.db;
    this.#dialect = database.dialect;
  }

  /** Creates a run in status `queued`. */
  async create(input: CreateRunInput): Promise<Run> {
    const row: RunRow = {
      id: input.id ?? newId('run'),
      deployment_id: input.deploymentId,
      status: 'queued',
      input: JSON.stringify(input.input ?? null),
      metadata: JSON.stringify(input.metadata ?? {}),
      output: null,
      error_code: null,
      error_message: null,
      checkpoint: null,
      last_seq: 0,
      attempts: 0,
      claimed_by: null,
      claimed_at: null,
      lease_expires_at: null,
      created_at: nowIso(),
      started_at: null,
      finished_at: null,
      control_request: null,
      sandbox_id: null,
      approval: null,
      approval_expires_at: null,
      steps: 0,
      input_tokens: 0,
      output_tokens: 0,
      total_tokens: 0,
    };
    await this.#db.insertInto('runs').values(row).execute();
    return toRun(row);
  }

  async get(id: string): Promise<Run | undefined> {
    const row = await this.#db
      .selectFrom('runs')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toRun(row);
  }

  /** Like `get`, but a missing run is a `run_not_found` error. */
  async require(id: string): Promise<Run> {
    const run = await this.get(id);
    if (run === undefined) throw notFound(id);
    return run;
  }

  /** Runs newest first, optionally of one deployment, in some statuses, in a time range, by id prefix. */
  async list(filter: ListRunsFilter = {}): Promise<Page<Run>> {
    const limit = pageLimit(filter);
    let query = this.#db
      .selectFrom('runs')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (filter.deploymentId !== undefined) {
      query = query.where('deployment_id', '=', filter.deploymentId);
    }
    if (filter.deploymentIds !== undefined) {
      if (filter.deploymentIds.length === 0) return { items: [], nextCursor: null };
      query = query.where('deployment_id', 'in', filter.deploymentIds);
    }
    if (filter.status !== undefined) {
      const statuses: readonly RunStatus[] =
        typeof filter.status === 'string' ? [filter.status] : filter.status;
      query = query.where('status', 'in', statuses);
    }
    // Stored times are UTC ISO strings, which compare as text; a bound with an offset becomes one.
    if (filter.createdAfter !== undefined) {
      query = query.where('created_at', '>=', new Date(filter.createdAfter).toISOString());
    }
    if (filter.createdBefore !== undefined) {
      query = query.where('created_at', '<', new Date(filter.createdBefore).toISOString());
    }
    if (filter.idPrefix !== undefined) {
      // substr rather than LIKE: an id's "_" would be a LIKE wildcard.
      const prefix = filter.idPrefix;
      query = query.where(sql<string>`substr(id, 1, ${prefix.length})`, '=', prefix);
    }
    if (filter.cursor !== undefined) query = query.where('id', '<', filter.cursor);
    return toPage(await query.execute(), limit, toRun);
  }

  /**
   * Moves a run to `to`, enforced in the UPDATE's WHERE clause so two concurrent callers cannot
   * both win. An illegal transition is a `run_state` error whose details carry the current status;
   * with `worker` set, a run claimed by someone else is a `run_claim_lost` error.
   */
  async transition(id: string, to: RunStatus, options: TransitionOptions = {}): Promise<Run> {
    const from = runStatuses.filter(
      (s) => runTransitions[s].includes(to) && (options.from?.includes(s) ?? true),
    );
    const now = nowIso();
    let query = this.#db
      .updateTable('runs')
      .set((eb) => ({
        status: to,
        ...(to === 'running' ? { started_at: eb.fn.coalesce('started_at', eb.val(now)) } : {}),
        ...(terminal.includes(to) ? { finished_at: now } : {}),
        // A finished run keeps the worker that ran it last (`claimed_by`), for the record.
        ...(unclaimed.includes(to) ? { lease_expires_at: null, control_request: null } : {}),
        ...(to === 'queued' || to === 'paused' ? { claimed_by: null } : {}),
        ...(options.output !== undefined ? { output: JSON.stringify(options.output) } : {}),
        ...(options.error !== undefined
          ? { error_code: options.error.code, error_message: options.error.message }
          : {}),
        ...(options.checkpoint !== undefined
          ? { checkpoint: JSON.stringify(options.checkpoint) }
          : {}),
        ...(options.sandboxId !== undefined ? { sandbox_id: options.sandboxId } : {}),
        ...(options.approval !== undefined
          ? {
              approval: JSON.stringify(options.approval),
              approval_expires_at: options.approval.expiresAt,
            }
          : terminal.includes(to)
            ? { approval: null, approval_expires_at: null }
            : {}),
      }))
      .where('id', '=', id)
      .where('status', 'in', from);
    if (options.worker !== undefined) query = query.where('claimed_by', '=', options.worker);
    const row = await query.returningAll().executeTakeFirst();
    if (row !== undefined) return toRun(row);

    const current = await this.require(id);
    if (from.includes(current.status) && options.worker !== undefined) {
      throw new RunToolsError(
        'run_claim_lost',
        `Run ${id} is no longer claimed by worker ${options.worker} (claimed by ${current.claimedBy ?? 'nobody'}).`,
        { details: { runId: id, status: current.status, claimedBy: current.claimedBy } },
      );
    }
    throw runState(current, to);
  }

  /**
   * Stores the agent loop's state after a completed step, so the run can continue from it after a
   * restart. Only while the run is running or paused (and, with `worker`, still claimed by it).
   */
  async saveCheckpoint(id: string, checkpoint: unknown, options: { worker?: string } = {}) {
    let query = this.#db
      .updateTable('runs')
      // A completed step is past any call an approval was about.
      .set({ checkpoint: JSON.stringify(checkpoint), approval: null, approval_expires_at: null })
      .where('id', '=', id)
      .where('status', 'in', ['running', 'paused']);
    if (options.worker !== undefined) query = query.where('claimed_by', '=', options.worker);
    const result = await query.executeTakeFirst();
    if (result.numUpdatedRows === 0n) {
      const current = await this.require(id);
      if (options.worker !== undefined && current.claimedBy !== options.worker) {
        throw new RunToolsError(
          'run_claim_lost',
          `Run ${id} is no longer claimed by ${options.worker}.`,
          {
            details: { runId: id, status: current.status, claimedBy: current.claimedBy },
          },
        );
      }
      throw runState(current, current.status);
    }
  }

  /** Records the sandbox the worker holding the run made for it. */
  async setSandbox(id: string, sandboxId: string | null, worker: string): Promise<void> {
    await this.#db
      .updateTable('runs')
      .set({ sandbox_id: sandboxId })
      .where('id', '=', id)
      .where('claimed_by', '=', worker)
      .execute();
  }

  /**
   * Answers the approval a waiting run asks for (`callId`) and queues the run to continue with
   * it, atomically: of two concurrent answers (or an answer and the expiry) one wins, and the
   * other finds the run queued. `approval_not_found` when the run asks nothing about `callId`;
   * `run_state` when it is not waiting (read it again to see whether this answer was taken).
   */
  async answerApproval(
    id: string,
    callId: string,
    answer: { decision: ApprovalDecision; reason?: string },
  ): Promise<Run> {
    const current = await this.require(id);
    const approval = current.approval;
    if (approval === null || approval.callId !== callId) {
      throw new RunToolsError(
        'approval_not_found',
        `Run ${id} asks for no approval of call ${callId}${approval && current.status === 'waiting' ? ` (it waits for ${approval.callId})` : ''}.`,
        { details: { runId: id, callId, status: current.status } },
      );
    }
    if (current.status !== 'waiting' || approval.answer !== undefined)
      throw runState(current, 'queued');
    const answered: StoredApproval = {
      ...approval,
      answer: {
        decision: answer.decision,
        ...(answer.reason === undefined ? {} : { reason: answer.reason }),
        at: nowIso(),
      },
    };
    const row = await this.#db
      .updateTable('runs')
      .set({ status: 'queued', approval: JSON.stringify(answered), approval_expires_at: null })
      .where('id', '=', id)
      .where('status', '=', 'waiting')
      .where('approval_expires_at', '=', approval.expiresAt)
      .returningAll()
      .executeTakeFirst();
    if (row !== undefined) return toRun(row);
    throw runState(await this.require(id), 'queued');
  }

  /** Waiting runs whose approval expired at `now` or before: the sweep denies them. */
  async expiredApprovals(now = nowIso(), limit = 100): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('runs')
      .select('id')
      .where('status', '=', 'waiting')
      .where('approval_expires_at', '<=', now)
      .orderBy('approval_expires_at')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * Atomically takes the oldest claimable run for `worker`: a queued run, or a running one whose
   * lease expired (its worker died; continue from `checkpoint`). Returns undefined when there is
   * none. Two workers, even in different processes on one PostgreSQL, never get the same run.
   */
  async claim(worker: string, options: ClaimOptions): Promise<Run | undefined> {
    const now = nowIso();
    const lease = nowIso(options.leaseMs);
    const isClaimable = (eb: ExpressionBuilder<Schema, 'runs'>) =>
      eb.or([
        eb('status', '=', 'queued'),
        eb.and([eb('status', '=', 'running'), eb('lease_expires_at', '<', now)]),
      ]);
    const oldestClaimable = (db: Kysely<Schema>) =>
      db
        .selectFrom('runs')
        .select('id')
        .where(isClaimable)
        .orderBy('created_at')
        .orderBy('id')
        .limit(1);
    const take = (db: Kysely<Schema>) =>
      db.updateTable('runs').set((eb) => ({
        status: 'running',
        claimed_by: worker,
        claimed_at: now,
        lease_expires_at: lease,
        attempts: eb('attempts', '+', 1),
        started_at: eb.fn.coalesce('started_at', eb.val(now)),
      }));

    if (this.#dialect === 'postgres') {
      // Row locks: a concurrent claimer skips the row this transaction holds and takes the next
      // one, instead of waiting for it or taking it too.
      const row = await this.#db.transaction().execute(async (tx) => {
        const candidate = await oldestClaimable(tx).forUpdate().skipLocked().executeTakeFirst();
        if (candidate === undefined) return undefined;
        return take(tx).where('id', '=', candidate.id).returningAll().executeTakeFirst();
      });
      return row === undefined ? undefined : toRun(row);
    }
    // SQLite has a single writer: one UPDATE that picks the row and re-checks it is atomic.
    const row = await take(this.#db)
      .where('id', '=', oldestClaimable(this.#db))
      .where(isClaimable)
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : toRun(row);
  }

  /**
   * Asks the worker holding a running run (in this or another process) to pause or cancel it.
   * A cancel replaces a pending pause; a pause never replaces a cancel. False when the run is not
   * running any more (re-read it to see what it became).
   */
  async requestControl(id: string, action: ControlRequest): Promise<boolean> {
    let query = this.#db
      .updateTable('runs')
      .set({ control_request: action })
      .where('id', '=', id)
      .where('status', '=', 'running');
    if (action === 'pause') {
      query = query.where((eb) =>
        eb.or([eb('control_request', 'is', null), eb('control_request', '=', 'pause')]),
      );
      const result = await query.executeTakeFirst();
      if (result.numUpdatedRows > 0n) return true;
      // Already asked to cancel: the pause is moot but the run is still being stopped.
      const current = await this.require(id);
      return current.status === 'running';
    }
    const result = await query.executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /**
   * Pause/cancel requests pending on `ids`, runs `worker` holds. By id (the primary key): it runs
   * several times a second while the worker is busy.
   */
  async pendingControls(
    worker: string,
    ids: readonly string[],
  ): Promise<Array<{ id: string; action: ControlRequest }>> {
    if (ids.length === 0) return [];
    const rows = await this.#db
      .selectFrom('runs')
      .select(['id', 'control_request'])
      .where('id', 'in', ids)
      .where('claimed_by', '=', worker)
      .where('status', '=', 'running')
      .where('control_request', 'is not', null)
      .execute();
    return rows.map((r) => ({ id: r.id, action: r.control_request as ControlRequest }));
  }

  /** Extends `worker`'s lease on a running run; false when the claim was lost (stop working on it). */
  async heartbeat(id: string, worker: string, options: ClaimOptions): Promise<boolean> {
    const result = await this.#db
      .updateTable('runs')
      .set({ lease_expires_at: nowIso(options.leaseMs) })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('claimed_by', '=', worker)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}

function notFound(id: string): RunToolsError {
  return new RunToolsError('run_not_found', `Run ${id} does not exist.`, {
    details: { runId: id },
  });
}

function runState(current: Run, to: RunStatus): RunToolsError {
  return new RunToolsError(
    'run_state',
    `Run ${current.id} is ${current.status}; it cannot become ${to}.`,
    { details: { runId: current.id, status: current.status, to } },
  );
}

function parseJson(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}

/**
 * The run's steps and tokens from its counters; a run that finished before the counters existed
 * has zeros there and its totals in its output.
 */
function progress(row: RunRow): Pick<Run, 'steps' | 'usage'> {
  const counted = {
    steps: Number(row.steps),
    usage: {
      inputTokens: Number(row.input_tokens),
      outputTokens: Number(row.output_tokens),
      totalTokens: Number(row.total_tokens),
    },
  };
  if (counted.steps > 0 || row.output === null) return counted;
  const output = parseJson(row.output) as { steps?: unknown; usage?: Partial<Run['usage']> };
  const count = (value: unknown) => (typeof value === 'number' ? value : 0);
  return {
    steps: count(output?.steps),
    usage: {
      inputTokens: count(output?.usage?.inputTokens),
      outputTokens: count(output?.usage?.outputTokens),
      totalTokens: count(output?.usage?.totalTokens),
    },
  };
}

function toRun(row: RunRow): Run {
  return {
    id: row.id,
    deploymentId: row.deployment_id,
    status: row.status as RunStatus,
    input: parseJson(row.input),
    metadata: parseJson(row.metadata) as Record<string, unknown>,
    output: parseJson(row.output),
    error:
      row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' },
    checkpoint: parseJson(row.checkpoint),
    lastSeq: Number(row.last_seq),
    ...progress(row),
    attempts: Number(row.attempts),
    claimedBy: row.claimed_by,
    claimedAt: row.claimed_at,
    leaseExpiresAt: row.lease_expires_at,
    sandboxId: row.sandbox_id,
    approval: parseJson(row.approval) as StoredApproval | null,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
