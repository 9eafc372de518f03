import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type RunEvent, RunToolsError } from '@runtools/sdk';
import { isTerminalStatus } from '@runtools/sdk/api';
import { runEventStream } from '../../runs/run-event-stream.ts';
import type { Run } from '../../store/runs.ts';
import { cancelRun } from '../routes/run-controls.ts';
import { type RunServices, startRun } from '../run-services.ts';
import type { DeploymentToolInput, DeploymentToolOutput } from './deployment-tools.ts';

export interface DeploymentCall {
  services: RunServices;
  /** The deployment's apiSlug (the tool's name), already checked to be the caller's. */
  slug: string;
  input: DeploymentToolInput;
  /** Aborted when the client cancels the call or goes away: the run is cancelled. */
  signal: AbortSignal;
  /** Called with a line for each step of the run, when the client asked for progress. */
  onProgress?: ((message: string) => void) | undefined;
  /** True while this server shuts down: its runs go back to the queue for another server. */
  draining: () => boolean;
}

/**
 * How a call ended: the run ended; the client cancelled it (and it was cancelled); or this server
 * shut down and handed the run back to the queue, where another server continues it.
 */
export type DeploymentCallOutcome =
  | { kind: 'ended'; run: Run }
  | { kind: 'cancelled'; runId: string }
  | { kind: 'handed_off'; run: Run };

/** A line for the client's progress display, for the events worth one. */
function progressLine(runId: string, event: RunEvent): string | undefined {
  if (event.type === 'status' && event.status === 'running') return `Run ${runId} is running.`;
  if (event.type === 'tool_call') return `Step ${event.step}: calling ${event.name}.`;
  if (event.type === 'step') return `Step ${event.step} done (${event.finishReason}).`;
  // The call goes on waiting: a person answers in the dashboard, the CLI or the API.
  if (event.type === 'approval_requested') {
    return `Run ${runId} waits for a person to approve ${event.tool} (POST /v1/runs/${runId}/approvals/${event.callId}).`;
  }
  return undefined;
}

/**
 * Runs a deployment for a `tools/call`, as `POST /v1/run/{slug}` does, and waits for the run to
 * end, however long it takes (an MCP client has no "202, look it up later"). When `signal` aborts
 * first, the run is cancelled.
 */
export async function callDeployment(call: DeploymentCall): Promise<DeploymentCallOutcome> {
  const { services, signal } = call;
  const { run } = await startRun(services, call.slug, {
    input: call.input.input,
    ...(call.input.metadata !== undefined ? { metadata: call.input.metadata } : {}),
  });
  for await (const event of runEventStream({
    store: services.store,
    hub: services.hub,
    runId: run.id,
    signal,
  })) {
    const line = call.onProgress && progressLine(run.id, event);
    if (line) call.onProgress?.(line);
    if (event.type === 'status' && event.status === 'queued' && call.draining()) break;
  }
  const ended = await services.store.runs.require(run.id);
  if (isTerminalStatus(ended.status)) return { kind: 'ended', run: ended };
  // A shutdown is no cancellation, even when it closes the client's connection: the run goes on
  // elsewhere, and the client (if still there) learns its id.
  if (call.draining()) return { kind: 'handed_off', run: ended };
  // Otherwise the stream only stops early when the call was cancelled.
  try {
    await cancelRun(services, run.id);
  } catch (error) {
    // It ended meanwhile: nothing left to cancel.
    if (!(RunToolsError.isInstance(error) && error.code === 'run_state')) throw error;
  }
  return { kind: 'cancelled', runId: run.id };
}

/** The `tools/call` result of a run this server handed back to the queue as it shut down. */
export function handedOffResult(run: Run): CallToolResult {
  const structuredContent: DeploymentToolOutput = {
    runId: run.id,
    status: run.status,
    output: null,
    error: null,
  };
  return {
    isError: true,
    content: [
      {
        type: 'text',
        text:
          `server_shutting_down: this server is shutting down; run ${run.id} continues on another ` +
          `server: read its result with GET /v1/runs/${run.id}.`,
      },
    ],
    structuredContent,
  };
}

/**
 * The `tools/call` result of an ended run: the output text as content and the run as
 * `structuredContent`; a run that did not complete is an error result naming its code and message.
 * The run id is in both, so a client can look the run up in the API.
 */
export function runToolResult(run: Run): CallToolResult {
  const structuredContent: DeploymentToolOutput = {
    runId: run.id,
    status: run.status,
    output: run.output,
    error: run.error,
  };
  if (run.status === 'completed') {
    const output = run.output as { text?: unknown } | null;
    const text = typeof output?.text === 'string' ? output.text : '';
    return { content: [{ type: 'text', text }], structuredContent };
  }
  const why = run.error ? `${run.error.code}: ${run.error.message}` : 'no error was recorded';
  return {
    isError: true,
    content: [{ type: 'text', text: `Run ${run.id} ${run.status} (${why}).` }],
    structuredContent,
  };
}
