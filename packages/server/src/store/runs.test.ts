import assert from 'node:assert/strict';
import { it } from 'node:test';
import { RunToolsError } from '@runtools/sdk';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { createStore } from './store.ts';

describeEachDatabase('runs', ({ dialect, open, openAgain }) => {
  it('creates a queued run and reads it back with its JSON intact', async () => {
    const store = createStore(await open());
    const run = await store.runs.create({
      deploymentId: 'dep_1',
      input: { prompt: 'hi', n: 1 },
      metadata: { user: 'u1' },
    });
    assert.equal(run.status, 'queued');
    const read = await store.runs.require(run.id);
    assert.deepEqual(read, run);
    assert.deepEqual(read.input, { prompt: 'hi', n: 1 });
    assert.equal(await store.runs.get('run_missing'), undefined);
  });

  it('lists runs by creation time range and by id prefix', async () => {
    const store = createStore(await open());
    const a = await store.runs.create({ deploymentId: 'dep_1', input: 'a' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const b = await store.runs.create({ deploymentId: 'dep_1', input: 'b' });
    const ids = async (filter: Parameters<typeof store.runs.list>[0]) =>
      (await store.runs.list(filter)).items.map((r) => r.id);
    assert.deepEqual(await ids({ createdAfter: b.createdAt }), [b.id]);
    assert.deepEqual(await ids({ createdBefore: b.createdAt }), [a.id]);
    // A bound with an offset means the same instant as its UTC form.
    const local = new Date(b.createdAt).toISOString().replace('Z', '+00:00');
    assert.deepEqual(await ids({ createdAfter: local }), [b.id]);
    assert.deepEqual(await ids({ createdAfter: a.createdAt, createdBefore: b.createdAt }), [a.id]);
    assert.deepEqual(await ids({ idPrefix: a.id }), [a.id]);
    assert.deepEqual(await ids({ idPrefix: 'run_' }), [b.id, a.id]);
    // "_" is an ordinary character, not a wildcard.
    assert.deepEqual(await ids({ idPrefix: 'run__' }), []);
    assert.deepEqual(await ids({ idPrefix: 'dep_' }), []);
  });

  it('reads the steps and tokens of a run finished before they were counted from its output', async () => {
    const store = createStore(await open());
    const run = await store.runs.create({ deploymentId: 'dep_1', input: 'x' });
    await store.runs.transition(run.id, 'running');
    const usage = { inputTokens: 4, outputTokens: 2, totalTokens: 6 };
    const done = await store.runs.transition(run.id, 'completed', {
      output: { text: 'ok', usage, steps: 2 },
    });
    assert.deepEqual([done.steps, done.usage], [2, usage]);
  });

  it('follows legal transitions and stamps started/finished times', async () => {
    const store = createStore(await open());
    const run = await store.runs.create({ deploymentId: 'dep_1', input: 'x' });
    const running = await store.runs.transition(run.id, 'running');
    assert.equal(running.status, 'running');
    assert.ok(running.startedAt);
    const paused = await store.runs.transition(run.id, 'paused');
    assert.equal(paused.startedAt, running.startedAt);
    await store.runs.transition(run.id, 'queued');
    await store.runs.transition(run.id, 'running');
    const done = await store.runs.transition(run.id, 'completed', { output: { text: 'ok' } });
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.output, { text: 'ok' });
    assert.ok(done.finishedAt);
    const failed = await store.runs.create({ deploymentId: 'dep_1', input: 'y' });
    const f = await store.runs.transition(failed.id, 'failed', {
      error: { code: 'server_restart', message: 'gone' },
    });
    assert.deepEqual(f.error, { code: 'server_restart', message: 'gone' });
  });

  it('refuses an illegal transition with run_state carrying the current status', async () => {
    const store = createStore(await open());
    const run = await store.runs.create({ deploymentId: 'dep_1', input: 'x' });
    await store.runs.transition(run.id, 'cancelled');
    for (const to of ['running', 'completed', 'paused', 'queued', 'cancelled'] as const) {
      await assert.rejects(store.runs.transition(run.id, to), (error) => {
        assert.ok(RunToolsError.isInstance(error));
        assert.equal(error.code, 'run_state');
        assert.equal(error.details.status, 'cancelled');
        assert.equal(error.details.to, to);
        return true;
      });
    }
    const queued = await store.runs.create({ deploymentId: 'dep_1', input: 'x' });
    await assert.rejects(store.runs.transition(queued.id, 'completed'), { code: 'run_state' });
    await assert.rejects(store.runs.transition('run_nope', 'running'), { code: 'run_not_found' });
  });

  it('with `from`, transitions only out of those statuses (cancel only while unclaimed)', async () => {
    const store = createStore(await open());
    const run = await store.runs.create({ deploymentId: 'dep_1', input: 'x' });
    await store.runs.transition(run.id, 'running');
    await assert.rejects(
      store.runs.transition(run.id, 'cancelled', { from: ['queued', 'paused'] }),
      (error: unknown) =>
        RunToolsError.isInstance(error) &&
        error.code === 'run_state' &&
        error.details.status === 'running',
    );
    await store.runs.transition(run.id, 'paused');
    const cancelled = await store.runs.transition(run.id, 'cancelled', {
      from: ['queued', 'paused'],
    });
    assert.equal(cancelled.status, 'cancelled');
  });

  it('lets exactly one of many concurrent callers win a transition', async () => {
    const store = createStore(await open());
    const run = await store.runs.create({ deploymentId: 'dep_1', input: 'x' });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => store.runs.transition(run.id, 'cancelled')),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  });

  it('saves and returns the loop-state checkpoint, only for the claiming worker', async () => {
    const store = createStore(await open());
    const run = await store.runs.create({ deploymentId: 'dep_1', input: 'x' });
    await assert.rejects(store.runs.saveCheckpoint(run.id, { steps: 0 }), { code: 'run_state' });
    const claimed = await store.runs.claim('w1', { leaseMs: 60_000 });
    assert.equal(claimed?.id, run.id);
    const state = { version: 1, messages: [{ role: 'user', content: 'x' }], steps: 1, lastSeq: 3 };
    await store.runs.saveCheckpoint(run.id, state, { worker: 'w1' });
    assert.deepEqual((await store.runs.require(run.id)).checkpoint, state);
    await assert.rejects(store.runs.saveCheckpoint(run.id, {}, { worker: 'w2' }), {
      code: 'run_claim_lost',
    });
    await assert.rejects(store.runs.transition(run.id, 'completed', { worker: 'w2' }), {
      code: 'run_claim_lost',
    });
    const done = await store.runs.transition(run.id, 'completed', { worker: 'w1' });
    assert.equal(done.claimedBy, 'w1', 'a finished run records who ran it');
    assert.equal(done.leaseExpiresAt, null);
  });

  it('lists newest first with filters and cursor pagination', async () => {
    const store = createStore(await open());
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const run = await store.runs.create({ deploymentId: i % 2 ? 'dep_a' : 'dep_b', input: i });
      ids.push(run.id);
    }
    await store.runs.transition(ids[0] as string, 'cancelled');
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.runs.list({ limit: 3, ...(cursor ? { cursor } : {}) });
      assert.ok(page.items.length <= 3);
      seen.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    assert.deepEqual(seen, [...ids].reverse());
    const a = await store.runs.list({ deploymentId: 'dep_a' });
    assert.equal(a.items.length, 3);
    assert.equal(a.nextCursor, null);
    const cancelled = await store.runs.list({ status: 'cancelled' });
    assert.deepEqual(
      cancelled.items.map((r) => r.id),
      [ids[0]],
    );
    const open_ = await store.runs.list({ status: ['queued', 'running'], deploymentId: 'dep_b' });
    assert.equal(open_.items.length, 3);
  });

  it('claims the oldest queued run first and nothing when the queue is empty', async () => {
    const store = createStore(await open());
    assert.equal(await store.runs.claim('w1', { leaseMs: 60_000 }), undefined);
    const first = await store.runs.create({ deploymentId: 'dep_1', input: 1 });
    const second = await store.runs.create({ deploymentId: 'dep_1', input: 2 });
    const claimed = await store.runs.claim('w1', { leaseMs: 60_000 });
    assert.equal(claimed?.id, first.id);
    assert.equal(claimed?.status, 'running');
    assert.equal(claimed?.claimedBy, 'w1');
    assert.equal(claimed?.attempts, 1);
    assert.equal((await store.runs.claim('w2', { leaseMs: 60_000 }))?.id, second.id);
    assert.equal(await store.runs.claim('w3', { leaseMs: 60_000 }), undefined);
  });

  it('never claims one run twice, even from two independent pools at once (PostgreSQL)', async () => {
    const first = await open();
    const second = await openAgain(first);
    const stores = [createStore(first), createStore(second)];
    const total = 50;
    for (let i = 0; i < total; i++) {
      await stores[0]?.runs.create({ deploymentId: 'dep_1', input: i });
    }
    const claims: { worker: string; runId: string }[] = [];
    const claimer = async (worker: string, store: (typeof stores)[number]) => {
      for (;;) {
        const run = await store.runs.claim(worker, { leaseMs: 60_000 });
        if (run === undefined) return;
        claims.push({ worker, runId: run.id });
      }
    };
    await Promise.all(
      stores.flatMap((store, s) =>
        Array.from({ length: 10 }, (_, i) => claimer(`pool${s}-w${i}`, store)),
      ),
    );
    assert.equal(claims.length, total);
    assert.equal(new Set(claims.map((c) => c.runId)).size, total);
    const page = await stores[0]?.runs.list({ status: 'running', limit: 100 });
    assert.equal(page?.items.length, total);
    for (const run of page?.items ?? []) {
      assert.equal(run.attempts, 1);
      assert.equal(run.claimedBy, claims.find((c) => c.runId === run.id)?.worker);
    }
    if (dialect === 'postgres') {
      // Both pools took part: the claims were really concurrent across connections.
      const pools = new Set(claims.map((c) => c.worker.split('-')[0]));
      assert.equal(pools.size, 2);
    }
  });

  it('lets another worker reclaim a run whose lease expired, but not a live one', async (t) => {
    const store = createStore(await open());
    // Lease times come from the clock: a mocked one moves only when the test says, so a slow
    // machine cannot let the 150 ms lease run out between two steps that rely on it being live.
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const run = await store.runs.create({ deploymentId: 'dep_1', input: 'x' });
    await store.runs.claim('w1', { leaseMs: 150 });
    await store.runs.saveCheckpoint(run.id, { steps: 2 }, { worker: 'w1' });
    assert.equal(await store.runs.claim('w2', { leaseMs: 60_000 }), undefined);
    assert.equal(await store.runs.heartbeat(run.id, 'w1', { leaseMs: 150 }), true);
    t.mock.timers.tick(250);
    const reclaimed = await store.runs.claim('w2', { leaseMs: 60_000 });
    assert.equal(reclaimed?.id, run.id);
    assert.equal(reclaimed?.claimedBy, 'w2');
    assert.equal(reclaimed?.attempts, 2);
    assert.deepEqual(reclaimed?.checkpoint, { steps: 2 });
    assert.equal(await store.runs.heartbeat(run.id, 'w1', { leaseMs: 150 }), false);
    await assert.rejects(store.runs.transition(run.id, 'completed', { worker: 'w1' }), {
      code: 'run_claim_lost',
    });
  });
});
