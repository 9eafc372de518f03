import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loopbackRanges, ModelAccess } from '@runtools/agent';
import { TestModelServer } from '@runtools/agent/testing';
import { useTestEngine, waitFor } from '@runtools/sandbox/testing';
import { openDatabase } from '../db/database.ts';
import { RunWorker } from '../runs/run-worker.ts';
import { startTestServer } from '../testing/test-server.ts';
import { buildServerId } from './template-builder.ts';

describe('templates defined where no engine runs', () => {
  const t = useTestEngine('tpl-ensure');
  const slug = `rt-test-ensure-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'runtools-tpl-ensure-'));
  after(async () => {
    await t.engine.templates.delete(slug, new Set()).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it('are built by the worker that first runs a deployment of them, recorded as a build', async () => {
    await using database = await openDatabase({ kind: 'sqlite', dataDir: dir });
    // The API process has no engine: the definition is stored, pending.
    await using api = await startTestServer(database);
    const defined = await api.request('POST', '/v1/templates', {
      body: { slug, dockerfile: 'FROM debian-13\nRUN echo built-on-demand > /marker\n' },
    });
    assert.equal(defined.status, 202);
    assert.equal((defined.body as { status: string }).status, 'pending');

    await using model = await TestModelServer.start();
    model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'cat /marker' } }] },
      { text: 'Read it.' },
    );
    const store = api.store;
    const runtime = await store.runtimes.create({
      slug: 'reader',
      definition: {
        slug: 'reader',
        model: { provider: 'custom', endpoint: `${model.url}/v1`, model: 'scripted' },
        systemPrompt: 'You read files.',
        tools: ['bash'],
      },
    });
    const deployment = await store.deployments.create({
      apiSlug: 'reader',
      runtimeId: runtime.id,
      templateSlug: slug,
    });
    const worker = new RunWorker({
      store,
      engine: t.engine,
      workerId: 'w-ensure',
      pollMs: 50,
      // The test model server is on loopback, which model endpoints may not reach by default.
      modelAccess: new ModelAccess({ endpointAllow: loopbackRanges }),
    });
    const run = await store.runs.create({ deploymentId: deployment.id, input: 'read /marker' });
    worker.start();
    try {
      const done = await waitFor(
        async () => {
          const r = await store.runs.get(run.id);
          return r && ['completed', 'failed'].includes(r.status) ? r : undefined;
        },
        { timeoutMs: 300_000, intervalMs: 200 },
      );
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
    } finally {
      await worker.stop();
    }
    const result = (await store.events.listSince(run.id)).find((e) => e.type === 'tool_result');
    assert.match(result?.type === 'tool_result' ? result.output : '', /built-on-demand/);

    const template = await store.templates.require(slug);
    const builds = await store.templates.listBuilds(template.id);
    assert.equal(builds.items.length, 1);
    assert.equal(builds.items[0]?.status, 'ready');
    assert.equal(builds.items[0]?.server, buildServerId);
    assert.ok((builds.items[0]?.lastSeq ?? 0) > 0, 'its log was recorded');
    // The API without an engine now reports it ready (built elsewhere).
    const got = await api.request('GET', `/v1/templates/${slug}`);
    assert.equal((got.body as { status: string }).status, 'ready');
    await store.deployments.delete(deployment.id);
  });

  it('are built by POST /v1/sandboxes on a server that has not built them', async () => {
    const other = `${slug}-sbx`;
    await using database = await openDatabase({ kind: 'sqlite', dataDir: join(dir, 'sbx') });
    await using api = await startTestServer(database);
    const defined = await api.request('POST', '/v1/templates', {
      body: { slug: other, dockerfile: 'FROM debian-13\nRUN echo sandbox-on-demand > /marker\n' },
    });
    assert.equal(defined.status, 202);
    // Another process with an engine, same database.
    await using withEngine = await startTestServer(database, { engine: t.engine });
    try {
      const created = await withEngine.request('POST', '/v1/sandboxes', {
        body: { template: other },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const { id } = created.body as { id: string };
      const read = await withEngine.request('POST', `/v1/sandboxes/${id}/exec`, {
        body: { command: 'cat /marker' },
      });
      assert.equal((read.body as { stdout: string }).stdout, 'sandbox-on-demand\n');
      await withEngine.request('DELETE', `/v1/sandboxes/${id}`);
    } finally {
      await t.engine.templates.delete(other, new Set()).catch(() => {});
    }
  });
});
