import type { RunEvent, RunEventInput, RunStatus } from '@runtools/sdk';
import type { Run, TransitionOptions } from '../store/runs.ts';
import type { Store } from '../store/store.ts';

/** Where a run's lifecycle is recorded: the store, and who hears of each stored event. */
export interface RunLifecycle {
  store: Pick<Store, 'runs' | 'events'>;
  /** Hands a stored event on (the event hub's `publish`, which fans it out). */
  publish: (runId: string, event: RunEvent) => void;
}

/**
 * Appends events to a run's log, which stamps each with its `seq` and `ts`, and hands the
 * stored events on in order. The one way events enter a log: the worker's and the API's alike.
 */
export async function recordRunEvents(
  lifecycle: RunLifecycle,
  runId: string,
  events: RunEventInput[],
): Promise<RunEvent[]> {
  const stored = await lifecycle.store.events.append(runId, events);
  for (const event of stored) lifecycle.publish(runId, event);
  return stored;
}

/**
 * Moves a run to `status` and says so: the run's row first (with its output, error or claim
 * check, see `TransitionOptions`), then the `status` event, which subscribers and webhooks see.
 * A refused transition (`run_state`, `run_claim_lost`) records nothing.
 */
export async function changeRunStatus(
  lifecycle: RunLifecycle,
  runId: string,
  status: RunStatus,
  options: TransitionOptions & { reason?: string } = {},
): Promise<Run> {
  const { reason, ...transition } = options;
  const run = await lifecycle.store.runs.transition(runId, status, transition);
  await recordRunEvents(lifecycle, runId, [
    { type: 'status', status, ...(reason === undefined ? {} : { reason }) },
  ]);
  return run;
}
