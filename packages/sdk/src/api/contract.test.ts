import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunTools } from '../client/run-tools-client.ts';
import {
  type Deployment,
  type DeploymentInput,
  type ErrorCode,
  errorCodes,
  type Page,
  type Run,
  type RunEvent,
  type RunEventInput,
  type RunEventType,
  type RunStatus,
  runEventSchema,
  runStatuses,
  type Sandbox,
  type SandboxInput,
  type Template,
  type TemplateBuild,
  type WebhookEventType,
  type WebhookPayload,
  webhookEventTypes,
} from './index.ts';

// Type tests: compiled by `tsc -b` (the build), so a change to the contract that breaks these
// shapes fails the build before any test runs.
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_proof?: T): void {}

expectType<
  Equal<
    RunEventType,
    | 'thinking'
    | 'text'
    | 'tool_call'
    | 'tool_result'
    | 'tool_log'
    | 'approval_requested'
    | 'approval_resolved'
    | 'workflow_step_started'
    | 'workflow_step_completed'
    | 'workflow_step_failed'
    | 'step'
    | 'complete'
    | 'error'
    | 'status'
  >
>();
expectType<Equal<Extract<RunEvent, { type: 'status' }>['status'], RunStatus>>();
expectType<Equal<Extract<RunEvent, { type: 'tool_result' }>['isError'], boolean>>();
expectType<
  Equal<
    Omit<Extract<RunEvent, { type: 'step' }>, 'seq' | 'ts'>,
    Extract<RunEventInput, { type: 'step' }>
  >
>();
expectType<
  Equal<
    RunStatus,
    'queued' | 'running' | 'paused' | 'waiting' | 'completed' | 'failed' | 'cancelled'
  >
>();
expectType<
  Equal<
    WebhookEventType,
    | 'run.started'
    | 'run.completed'
    | 'run.failed'
    | 'run.paused'
    | 'run.waiting'
    | 'run.resumed'
    | 'run.cancelled'
  >
>();
expectType<Equal<WebhookPayload['data']['status'], RunStatus>>();
expectType<Equal<keyof typeof errorCodes, ErrorCode>>();

// The client's methods take and return the contract's shapes.
expectType<Equal<Parameters<RunTools['deployments']['create']>[0], DeploymentInput>>();
expectType<Equal<ReturnType<RunTools['deployments']['create']>, Promise<Deployment>>>();
expectType<Equal<ReturnType<RunTools['runs']['get']>, Promise<Run>>>();
expectType<Equal<ReturnType<RunTools['runs']['list']>, Promise<Page<Run>>>>();
expectType<
  Equal<
    NonNullable<Parameters<RunTools['runs']['list']>[0]>,
    {
      limit?: number;
      cursor?: string;
      deploymentId?: string;
      status?: RunStatus;
      createdAfter?: string;
      createdBefore?: string;
      idPrefix?: string;
    }
  >
>();
expectType<Equal<Parameters<RunTools['sandboxes']['create']>[0], SandboxInput>>();
expectType<Equal<ReturnType<RunTools['sandboxes']['create']>, Promise<Sandbox>>>();
expectType<Equal<ReturnType<RunTools['templates']['get']>, Promise<Template>>>();
expectType<Equal<ReturnType<RunTools['runs']['events']>, Promise<RunEvent[]>>>();
expectType<
  Equal<
    RunTools['stream'] extends (...args: never[]) => AsyncIterable<infer E> ? E : never,
    RunEvent
  >
>();
expectType<
  Equal<TemplateBuild['status'], 'queued' | 'building' | 'ready' | 'failed' | 'cancelled'>
>();

describe('the API contract', () => {
  it('parses each kind of run event and refuses an unknown one', () => {
    const events: unknown[] = [
      { seq: 1, ts: '2026-12-03T06:00:00.000Z', type: 'status', status: 'running' },
      { seq: 2, ts: '2026-12-03T06:00:00.001Z', type: 'thinking', step: 1, delta: 'hm' },
      {
        seq: 3,
        ts: '2026-12-03T06:00:00.002Z',
        type: 'tool_call',
        step: 1,
        id: 'c1',
        name: 'bash',
        input: { command: 'ls' },
      },
      {
        seq: 4,
        ts: '2026-12-03T06:00:00.003Z',
        type: 'tool_result',
        step: 1,
        id: 'c1',
        name: 'bash',
        output: 'a\n',
        isError: false,
        durationMs: 3,
      },
      {
        seq: 5,
        ts: '2026-12-03T06:00:00.004Z',
        type: 'step',
        step: 1,
        usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 },
        finishReason: 'tool-calls',
      },
      { seq: 6, ts: '2026-12-03T06:00:00.005Z', type: 'text', step: 2, delta: 'Done.' },
      {
        seq: 7,
        ts: '2026-12-03T06:00:00.006Z',
        type: 'complete',
        text: 'Done.',
        usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 },
        steps: 2,
      },
      { seq: 8, ts: '2026-12-03T06:00:00.007Z', type: 'error', code: 'model_error', message: 'x' },
    ];
    for (const event of events) assert.deepEqual(runEventSchema.parse(event), event);
    assert.equal(
      runEventSchema.safeParse({ seq: 9, ts: 'now', type: 'status', status: 'exploded' }).success,
      false,
    );
    assert.equal(runEventSchema.safeParse({ seq: 9, ts: 'now', type: 'telemetry' }).success, false);
    assert.equal(
      runEventSchema.safeParse({ ts: 'now', type: 'text', step: 1, delta: '' }).success,
      false,
    );
  });

  it('gives every error code an HTTP status and lists each status once', () => {
    for (const [code, status] of Object.entries(errorCodes)) {
      assert.match(code, /^[a-z]+(_[a-z]+)*$/, code);
      assert.ok(
        [400, 401, 403, 404, 405, 409, 413, 415, 426, 429, 500, 502, 503, 507].includes(status),
        code,
      );
    }
    assert.equal(new Set(runStatuses).size, runStatuses.length);
    assert.equal(new Set(webhookEventTypes).size, webhookEventTypes.length);
  });
});
