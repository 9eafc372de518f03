import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { nowIso } from './ids.ts';
import { createStore } from './store.ts';
import { definitionHash, type StoredTemplateDefinition } from './templates.ts';

const spec = (env: Record<string, string>): StoredTemplateDefinition => ({
  kind: 'spec',
  spec: { slug: 'web', os: 'debian-13', env },
});

describeEachDatabase('templates', ({ open }) => {
  it('creates, leaves an equal definition alone, replaces a changed one, lists by slug and deletes', async () => {
    const store = createStore(await open());
    const first = await store.templates.put('web', spec({ A: '1', B: '2' }));
    assert.equal(first.created, true);
    assert.equal(first.template.kind, 'spec');
    // Key order does not make a definition different.
    const same = await store.templates.put('web', spec({ B: '2', A: '1' }));
    assert.deepEqual(same, { template: first.template, created: false, changed: false });
    const dockerfile: StoredTemplateDefinition = {
      kind: 'dockerfile',
      dockerfile: 'FROM debian-13\nCOPY a /a',
      files: { a: { base64: Buffer.from('hi').toString('base64'), mode: 0o644 } },
    };
    const changed = await store.templates.put('web', dockerfile);
    assert.equal(changed.changed, true);
    assert.equal(changed.template.id, first.template.id);
    assert.equal(changed.template.kind, 'dockerfile');
    assert.deepEqual(changed.template.definition, dockerfile);
    assert.equal(changed.template.definitionHash, definitionHash(dockerfile));

    await store.templates.put('api', spec({}));
    await store.templates.put('zeta', spec({}));
    const page = await store.templates.list({ limit: 2 });
    assert.deepEqual(
      page.items.map((t) => t.slug),
      ['api', 'web'],
    );
    const next = await store.templates.list({ limit: 2, cursor: page.nextCursor ?? '' });
    assert.deepEqual(
      next.items.map((t) => t.slug),
      ['zeta'],
    );
    assert.equal(next.nextCursor, null);

    assert.equal(await store.templates.delete('web'), true);
    assert.equal(await store.templates.get('web'), undefined);
    assert.equal(await store.templates.delete('web'), false);
    await assert.rejects(store.templates.require('web'), { code: 'template_not_found' });
  });

  it('records builds with gapless logs, ends each once, and deletes them with the template', async () => {
    const store = createStore(await open());
    const { template } = await store.templates.put('web', spec({}));
    const build = await store.templates.createBuild(template, 'host:1');
    assert.equal(build.status, 'queued');
    const started = await store.templates.startBuild(build.id, 'host:1');
    assert.equal(started?.status, 'building');
    assert.equal(await store.templates.startBuild(build.id, 'host:2'), undefined);

    const a = await store.templates.appendLogs(build.id, ['one', 'two\0']);
    const b = await store.templates.appendLogs(build.id, ['three']);
    assert.deepEqual(
      [...a, ...b].map((l) => l.seq),
      [1, 2, 3],
    );
    assert.deepEqual(await store.templates.logsSince(build.id, 1), [
      { seq: 2, line: 'two' },
      { seq: 3, line: 'three' },
    ]);
    assert.equal(await store.templates.heartbeat(build.id), true);

    const result = { sizeBytes: 10, buildMs: 5, versions: { node: '20.1.0' } };
    const ready = await store.templates.finishBuild(build.id, {
      status: 'ready',
      version: '0123456789abcdef',
      result,
    });
    assert.equal(ready?.status, 'ready');
    assert.deepEqual(ready?.result, result);
    assert.equal(ready?.lastSeq, 3);
    const late = await store.templates.finishBuild(build.id, {
      status: 'cancelled',
      error: { code: 'cancelled', message: 'x' },
    });
    assert.equal(late, undefined);
    assert.equal(await store.templates.heartbeat(build.id), false);
    assert.equal(
      (await store.templates.latestReadyBuild(template.id, template.definitionHash))?.id,
      build.id,
    );

    const second = await store.templates.createBuild(template, null);
    assert.equal((await store.templates.latestBuild(template.id))?.id, second.id);
    const page = await store.templates.listBuilds(template.id, { limit: 1 });
    assert.deepEqual(
      page.items.map((x) => x.id),
      [second.id],
    );
    const rest = await store.templates.listBuilds(template.id, { cursor: page.nextCursor ?? '' });
    assert.deepEqual(
      rest.items.map((x) => x.id),
      [build.id],
    );

    await store.templates.delete('web');
    assert.equal(await store.templates.getBuild(build.id), undefined);
    assert.deepEqual(await store.templates.logsSince(build.id), []);
  });

  it('marks builds whose server stopped its heartbeat as abandoned', async () => {
    const database = await open();
    const store = createStore(database);
    const { template } = await store.templates.put('web', spec({}));
    const stale = await store.templates.createBuild(template, 'gone:1');
    const fresh = await store.templates.createBuild(template, 'here:1');
    await sql`update template_builds set heartbeat_at = ${nowIso(-120_000)} where id = ${stale.id}`.execute(
      database.db,
    );
    assert.equal(await store.templates.failAbandonedBuilds(), 1);
    const failed = await store.templates.getBuild(stale.id);
    assert.equal(failed?.status, 'failed');
    assert.equal(failed?.error?.code, 'build_abandoned');
    assert.equal((await store.templates.getBuild(fresh.id))?.status, 'queued');
  });

  it('finds the deployments that use a template', async () => {
    const store = createStore(await open());
    const runtime = await store.runtimes.create({ slug: 'r', definition: {} });
    const dep = await store.deployments.create({
      apiSlug: 'bot',
      runtimeId: runtime.id,
      templateSlug: 'web',
    });
    assert.deepEqual(await store.templates.deploymentsUsing('web'), [dep.id]);
    assert.deepEqual(await store.templates.deploymentsUsing('other'), []);
  });
});
