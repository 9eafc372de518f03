import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunEvent, RunStatus } from '@runtools/sdk';
import type { Store } from '../store/store.ts';
import { RunWebhooks, webhookEventType } from './run-webhooks.ts';
import type { WebhookDispatcher, WebhookEvent } from './webhook-dispatcher.ts';

describe('RunWebhooks', () => {
  it('maps status events to webhook event types', () => {
    assert.equal(webhookEventType('running', undefined), 'run.started');
    assert.equal(webhookEventType('running', 'resumed'), 'run.resumed');
    assert.equal(webhookEventType('running', undefined, true), 'run.resumed');
    assert.equal(webhookEventType('completed', undefined), 'run.completed');
    assert.equal(webhookEventType('failed', 'model_error'), 'run.failed');
    assert.equal(webhookEventType('paused', undefined), 'run.paused');
    assert.equal(webhookEventType('waiting', 'approval'), 'run.waiting');
    assert.equal(webhookEventType('cancelled', undefined), 'run.cancelled');
    assert.equal(webhookEventType('queued', 'resumed'), undefined);
  });

  it('enqueues status changes in order with the run output/error; resume from paused is run.resumed', async () => {
    const enqueued: WebhookEvent[] = [];
    const webhooks = {
      enqueue: async (event: WebhookEvent) => {
        enqueued.push(event);
        return [];
      },
    } as unknown as WebhookDispatcher;
    const run = { deploymentId: 'dep_1', output: { text: 'done' }, error: null };
    const store = { runs: { require: async () => run } } as unknown as Pick<Store, 'runs'>;
    const hooks = new RunWebhooks({ webhooks, store });
    let seq = 0;
    const publish = (status: RunStatus, reason?: string) =>
      hooks.observe('run_1', {
        seq: ++seq,
        ts: new Date().toISOString(),
        type: 'status',
        status,
        ...(reason ? { reason } : {}),
      } as RunEvent);
    publish('running');
    hooks.observe('run_1', { seq: ++seq, ts: '', type: 'text', step: 1, delta: 'hi' });
    publish('paused');
    publish('queued', 'resumed');
    publish('running');
    publish('completed');
    await hooks.idle();
    assert.deepEqual(
      enqueued.map((e) => [e.type, e.runId, e.deploymentId, e.data]),
      [
        ['run.started', 'run_1', 'dep_1', { status: 'running' }],
        ['run.paused', 'run_1', 'dep_1', { status: 'paused' }],
        ['run.resumed', 'run_1', 'dep_1', { status: 'running' }],
        ['run.completed', 'run_1', 'dep_1', { status: 'completed', output: { text: 'done' } }],
      ],
    );
  });

  it('a waiting run is run.waiting with the approval it asks for, and going on after the answer is run.resumed', async () => {
    const enqueued: WebhookEvent[] = [];
    const webhooks = {
      enqueue: async (event: WebhookEvent) => {
        enqueued.push(event);
        return [];
      },
    } as unknown as WebhookDispatcher;
    const approval = {
      callId: 'call_1',
      tool: 'bash',
      input: { command: 'rm -rf build' },
      step: 1,
      requestedAt: '2026-12-03T10:00:00.000Z',
      expiresAt: '2026-12-04T10:00:00.000Z',
    };
    const run = { deploymentId: 'dep_1', output: null, error: null, status: 'waiting', approval };
    const store = { runs: { require: async () => run } } as unknown as Pick<Store, 'runs'>;
    const hooks = new RunWebhooks({ webhooks, store });
    let seq = 0;
    const publish = (status: RunStatus, reason?: string) =>
      hooks.observe('run_1', {
        seq: ++seq,
        ts: '',
        type: 'status',
        status,
        ...(reason ? { reason } : {}),
      } as RunEvent);
    publish('running');
    publish('waiting', 'approval');
    publish('queued', 'approval_approved');
    publish('running');
    await hooks.idle();
    assert.deepEqual(
      enqueued.map((e) => [e.type, e.data]),
      [
        ['run.started', { status: 'running' }],
        ['run.waiting', { status: 'waiting', approval }],
        ['run.resumed', { status: 'running' }],
      ],
    );
  });

  it('reports a failed enqueue and keeps going', async () => {
    const errors: unknown[] = [];
    const webhooks = {
      enqueue: async () => {
        throw new Error('database down');
      },
    } as unknown as WebhookDispatcher;
    const store = {
      runs: { require: async () => ({ deploymentId: 'dep_1', output: null, error: null }) },
    } as unknown as Pick<Store, 'runs'>;
    const hooks = new RunWebhooks({ webhooks, store, onError: (e) => errors.push(e) });
    hooks.observe('run_1', { seq: 1, ts: '', type: 'status', status: 'running' } as RunEvent);
    hooks.observe('run_1', { seq: 2, ts: '', type: 'status', status: 'failed' } as RunEvent);
    await hooks.idle();
    assert.equal(errors.length, 2);
  });
});
