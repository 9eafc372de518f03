import { RunToolsError } from '@runtools/sdk';
import { runSchema } from '@runtools/sdk/api';
import { changeRunStatus } from '../../runs/run-lifecycle.ts';
import type { Run } from '../../store/runs.ts';
import { visibleRun } from '../access.ts';
import { idParamSchema } from '../common-schemas.ts';
import { errorResponses, jsonResponse, newRouter, scopedRoute } from '../router.ts';
import {
  lifecycleOf,
  type RunServices,
  runStateError,
  waitForStatusChange,
} from '../run-services.ts';
import { runToJson } from './runs.ts';

/** How long a control waits for the worker to stop a run before answering with its state. */
const stopWaitMs = 15_000;

function control(action: 'cancel' | 'pause' | 'resume', summary: string) {
  return scopedRoute('run', {
    method: 'post',
    path: `/runs/{id}/${action}`,
    summary,
    request: { params: idParamSchema },
    responses: {
      200: jsonResponse(runSchema, 'The run, in (or already in) the requested state.'),
      ...errorResponses(404, 409),
    },
  });
}

const cancel = control(
  'cancel',
  'Cancel a run: abort the model call, kill the tool process, mark it cancelled',
);
const pause = control(
  'pause',
  'Pause a running run after its current step, keeping its checkpoint',
);
const resume = control('resume', 'Queue a paused run again; it continues from its checkpoint');

function isRunState(error: unknown): boolean {
  return RunToolsError.isInstance(error) && error.code === 'run_state';
}

/**
 * Cancels run `id` (through the worker that holds it, in this process or another) and answers with
 * it once it is cancelled; `run_state` for a run that already ended otherwise.
 */
export async function cancelRun(services: RunServices, id: string): Promise<Run> {
  const { store, worker } = services;
  for (;;) {
    const run = await store.runs.require(id);
    if (run.status === 'cancelled') return run;
    if (run.status === 'running') {
      // The worker of this process, or (through the run's row) the one of another process.
      if (worker?.cancel(id) || (await store.runs.requestControl(id, 'cancel')))
        return waitForStatusChange(services, id, run.lastSeq, stopWaitMs);
      continue;
    }
    if (run.status !== 'queued' && run.status !== 'paused' && run.status !== 'waiting')
      throw runStateError(run, 'cancelled');
    try {
      // Only while no worker holds it: a run claimed meanwhile is cancelled through the worker.
      const cancelled = await changeRunStatus(lifecycleOf(services), id, 'cancelled', {
        from: ['queued', 'paused', 'waiting'],
        sandboxId: null,
      });
      // The sandbox it kept while it waited or was paused (on this server's engine).
      if (run.sandboxId !== null) await services.engine?.delete(run.sandboxId).catch(() => {});
      return cancelled;
    } catch (error) {
      if (!isRunState(error)) throw error;
    }
  }
}

async function pauseRun(services: RunServices, id: string): Promise<Run> {
  const { store, worker } = services;
  for (;;) {
    const run = await store.runs.require(id);
    if (run.status === 'paused') return run;
    if (run.status !== 'running') throw runStateError(run, 'paused');
    if (worker?.pause(id) || (await store.runs.requestControl(id, 'pause')))
      return waitForStatusChange(services, id, run.lastSeq, stopWaitMs);
  }
}

async function resumeRun(services: RunServices, id: string): Promise<Run> {
  const { store } = services;
  const run = await store.runs.require(id);
  if (run.status === 'queued' || run.status === 'running') return run;
  if (run.status !== 'paused') throw runStateError(run, 'resumed');
  try {
    const queued = await changeRunStatus(lifecycleOf(services), id, 'queued', {
      from: ['paused'],
      reason: 'resumed',
    });
    services.worker?.wake();
    return queued;
  } catch (error) {
    if (!isRunState(error)) throw error;
    // Resumed or cancelled by a concurrent request: answer with what it became.
    const now = await store.runs.require(id);
    if (now.status === 'queued' || now.status === 'running') return now;
    throw runStateError(now, 'resumed');
  }
}

/**
 * `POST /v1/runs/{id}/cancel|pause|resume`. Each is idempotent (a run already in the requested
 * state is a 200) and answers 409 `run_state` for a status it cannot leave that way.
 */
export function runControlRoutes(services: RunServices) {
  return newRouter()
    .openapi(cancel, async (c) => {
      const { id } = c.req.valid('param');
      await visibleRun(c, services.store, id);
      return c.json(runToJson(await cancelRun(services, id)), 200);
    })
    .openapi(pause, async (c) => {
      const { id } = c.req.valid('param');
      await visibleRun(c, services.store, id);
      return c.json(runToJson(await pauseRun(services, id)), 200);
    })
    .openapi(resume, async (c) => {
      const { id } = c.req.valid('param');
      await visibleRun(c, services.store, id);
      return c.json(runToJson(await resumeRun(services, id)), 200);
    });
}
