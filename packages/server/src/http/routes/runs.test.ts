import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeEachDatabase } from '../../testing/test-databases.ts';
import { startTestServer } from '../../testing/test-server.ts';

describeEachDatabase('http /v1/runs', ({ open }) => {
  it('lists and gets runs from the store, filtered and paginated', async () => {
    await using server = await startTestServer(await open());
    const { runs } = server.store;
    const a = await runs.create({ deploymentId: 'dep_a', input: { q: 1 }, metadata: { k: 'v' } });
    const b = await runs.create({ deploymentId: 'dep_b', input: 'hi' });
    await runs.transition(b.id, 'cancelled');
    const got = await server.request('GET', `/v1/runs/${a.id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(
      {
        ...(got.body as object),
        createdAt: undefined,
      },
      {
        id: a.id,
        deploymentId: 'dep_a',
        status: 'queued',
        input: { q: 1 },
        metadata: { k: 'v' },
        output: null,
        error: null,
        lastSeq: 0,
        steps: 0,
        usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
        attempts: 0,
        worker: null,
        approval: null,
        createdAt: undefined,
        startedAt: null,
        finishedAt: null,
      },
    );
    const ids = async (query: string) =>
      (
        (await server.request('GET', `/v1/runs${query}`)).body as { data: Array<{ id: string }> }
      ).data.map((r) => r.id);
    assert.deepEqual(await ids(''), [b.id, a.id]);
    assert.deepEqual(await ids('?status=cancelled'), [b.id]);
    assert.deepEqual(await ids('?deploymentId=dep_a'), [a.id]);
    assert.deepEqual(await ids('?limit=1'), [b.id]);
    assert.equal((await server.request('GET', '/v1/runs?status=exploded')).status, 400);
    assert.deepEqual(await ids(`?idPrefix=${a.id}`), [a.id]);
    assert.deepEqual(await ids(`?createdAfter=${encodeURIComponent(b.createdAt)}`), [b.id]);
    assert.deepEqual(await ids('?createdBefore=2000-01-01T00:00:00Z'), []);
    const badTime = await server.request('GET', '/v1/runs?createdAfter=yesterday');
    assert.equal(badTime.status, 400);
    assert.deepEqual(
      (badTime.body as { error: { details: { issues: Array<{ field: string }> } } }).error.details
        .issues[0]?.field,
      'createdAfter',
    );
    const missing = await server.request('GET', '/v1/runs/run_nope');
    assert.equal(missing.status, 404);
    assert.equal((missing.body as { error: { code: string } }).error.code, 'run_not_found');
    assert.equal((await server.request('POST', '/v1/runs')).status, 405);
  });

  it('gets a run with its events when asked', async () => {
    await using server = await startTestServer(await open());
    const run = await server.store.runs.create({ deploymentId: 'dep_a', input: 'x' });
    await server.store.events.append(run.id, [
      { type: 'status', status: 'running' },
      { type: 'text', step: 1, delta: 'hello' },
      {
        type: 'step',
        step: 1,
        usage: { inputTokens: 7, outputTokens: 3, totalTokens: 10 },
        finishReason: 'stop',
      },
    ]);
    const plain = await server.request('GET', `/v1/runs/${run.id}`);
    assert.deepEqual(
      [(plain.body as { steps: number }).steps, (plain.body as { usage: unknown }).usage],
      [1, { inputTokens: 7, outputTokens: 3, totalTokens: 10 }],
    );
    assert.equal((plain.body as { events?: unknown }).events, undefined);
    const withEvents = await server.request('GET', `/v1/runs/${run.id}?include=events`);
    assert.equal(withEvents.status, 200);
    const events = (withEvents.body as { events: Array<{ seq: number; type: string }> }).events;
    assert.deepEqual(
      events.map((e) => [e.seq, e.type]),
      [
        [1, 'status'],
        [2, 'text'],
        [3, 'step'],
      ],
    );
    assert.equal((await server.request('GET', `/v1/runs/${run.id}?include=nope`)).status, 400);
  });
});
