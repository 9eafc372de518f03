import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeEachDatabase } from '../../testing/test-databases.ts';
import { startTestServer } from '../../testing/test-server.ts';

interface TemplateJson {
  id: string | null;
  slug: string;
  kind: string;
  status: string;
  build: unknown;
  built_here: boolean;
  spec?: Record<string, unknown>;
  dockerfile?: string;
  files?: string[];
}

function errorCode(body: unknown): string | undefined {
  return (body as { error?: { code?: string } }).error?.code;
}

/** The API on a server without a sandbox engine: definitions only, built where first needed. */
describeEachDatabase('http /v1/templates without an engine', ({ open }) => {
  it('stores definitions as pending, recognises an unchanged one, and lists them among the system templates', async () => {
    await using server = await startTestServer(await open());
    const created = await server.request('POST', '/v1/templates', {
      body: { slug: 'web', spec: { os: 'debian-13', apt: ['jq'] } },
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const web = created.body as TemplateJson;
    assert.equal(web.kind, 'spec');
    assert.equal(web.status, 'pending');
    assert.equal(web.build, null);
    assert.deepEqual(web.spec?.apt, ['jq']);
    // Defaults applied: the same definition spelled out is no change.
    const again = await server.request('PUT', '/v1/templates/web', {
      body: { spec: { os: 'debian-13', apt: ['jq'], npm: [], env: {} } },
    });
    assert.equal(again.status, 202);
    assert.equal((again.body as TemplateJson).id, web.id);
    assert.equal(
      (await server.store.templates.get('web'))?.updatedAt,
      (await server.store.templates.get('web'))?.createdAt,
    );

    const docker = await server.request('POST', '/v1/templates', {
      body: {
        slug: 'app',
        dockerfile: 'FROM debian-13\nCOPY bin/run.sh /run.sh\n',
        files: {
          'bin/run.sh': {
            content: Buffer.from('#!/bin/sh\n').toString('base64'),
            encoding: 'base64',
            mode: 0o755,
          },
          README: 'text',
        },
      },
    });
    assert.equal(docker.status, 202, JSON.stringify(docker.body));
    assert.deepEqual((docker.body as TemplateJson).files, ['README', 'bin/run.sh']);
    const stored = await server.store.templates.get('app');
    assert.deepEqual(
      stored?.definition.kind === 'dockerfile' && stored.definition.files['bin/run.sh'],
      {
        base64: Buffer.from('#!/bin/sh\n').toString('base64'),
        mode: 0o755,
      },
    );

    const list = await server.request('GET', '/v1/templates?limit=100');
    const page = list.body as { data: TemplateJson[]; nextCursor: string | null };
    assert.deepEqual(
      page.data.map((t) => `${t.slug}:${t.kind}`),
      [
        'app:dockerfile',
        'debian-13:system',
        'full-stack:system',
        'nodejs-20:system',
        'python-ml:system',
        'web:spec',
      ],
    );
    assert.equal(page.nextCursor, null);
    assert.ok(page.data.every((t) => t.built_here === false));
    // Paging in slug order walks the same list.
    const slugs: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await server.request(
        'GET',
        `/v1/templates?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`,
      );
      const p = response.body as { data: TemplateJson[]; nextCursor: string | null };
      slugs.push(...p.data.map((t) => t.slug));
      cursor = p.nextCursor;
    } while (cursor !== null);
    assert.deepEqual(
      slugs,
      page.data.map((t) => t.slug),
    );

    const system = await server.request('GET', '/v1/templates/nodejs-20');
    assert.equal((system.body as TemplateJson).kind, 'system');
    const rebuild = await server.request('POST', '/v1/templates/web/builds');
    assert.equal(rebuild.status, 503);
    assert.equal(errorCode(rebuild.body), 'sandboxes_unavailable');
  });

  it('answers 400 for a bad spec or a Dockerfile syntax error, 409 for a system slug', async () => {
    await using server = await startTestServer(await open());
    const syntax = await server.request('POST', '/v1/templates', {
      body: { slug: 'bad', dockerfile: 'FROM debian-13\nRUN true\nFROB x\n' },
    });
    assert.equal(syntax.status, 400);
    assert.equal(errorCode(syntax.body), 'template_invalid');
    assert.match(JSON.stringify(syntax.body), /line 3/);
    const cases: unknown[] = [
      { slug: 'bad', spec: { os: 'windows-95' } },
      { slug: 'bad', spec: { os: 'debian-13', apt: ['no spaces allowed'] } },
      { slug: 'bad', spec: { os: 'debian-13', slug: 'other' } },
      { slug: 'bad', spec: { os: 'debian-13' }, dockerfile: 'FROM debian-13' },
      { slug: 'bad' },
      { slug: 'Bad!', spec: { os: 'debian-13' } },
      { slug: 'bad', dockerfile: 'FROM debian-13', files: { '../escape': 'x' } },
      { slug: 'bad', dockerfile: 'FROM debian-13', files: { '/abs': 'x' } },
      { slug: 'bad', dockerfile: 'FROM debian-13', files: { a: 'x', 'a/b': 'y' } },
      {
        slug: 'bad',
        dockerfile: 'FROM debian-13',
        files: { a: { content: '%%%', encoding: 'base64' } },
      },
      { slug: 'bad', spec: { os: 'debian-13' }, files: { a: 'x' } },
    ];
    for (const body of cases) {
      const response = await server.request('POST', '/v1/templates', { body });
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(errorCode(response.body), 'invalid_input', JSON.stringify(response.body));
    }
    const system = await server.request('POST', '/v1/templates', {
      body: { slug: 'debian-13', spec: { os: 'debian-13' } },
    });
    assert.equal(system.status, 409);
    assert.equal(errorCode(system.body), 'template_exists');
    assert.equal((await server.request('DELETE', '/v1/templates/debian-13')).status, 409);
    assert.equal((await server.request('GET', '/v1/templates/bad')).status, 404);
    assert.equal((await server.request('GET', '/v1/templates')).status, 200);
  });

  it('refuses to delete a template a deployment uses, then deletes it', async () => {
    await using server = await startTestServer(await open());
    await server.request('POST', '/v1/templates', {
      body: { slug: 'web', spec: { os: 'debian-13' } },
    });
    const runtime = await server.request('POST', '/v1/runtimes', {
      body: { slug: 'helper', model: 'claude-sonnet-4-5', systemPrompt: 'Be brief.' },
    });
    const deployment = await server.request('POST', '/v1/deployments', {
      body: { api_slug: 'bot', runtime_id: (runtime.body as { id: string }).id, template: 'web' },
    });
    const refused = await server.request('DELETE', '/v1/templates/web');
    assert.equal(refused.status, 409);
    assert.equal(errorCode(refused.body), 'template_in_use');
    await server.request('DELETE', `/v1/deployments/${(deployment.body as { id: string }).id}`);
    assert.equal((await server.request('DELETE', '/v1/templates/web')).status, 204);
    assert.equal((await server.request('DELETE', '/v1/templates/web')).status, 404);
  });

  it('takes a build context larger than the default body limit, up to its own', async () => {
    await using server = await startTestServer(await open(), { bodyLimitBytes: 1024 });
    const big = 'x'.repeat(4096);
    const response = await server.request('POST', '/v1/templates', {
      body: { slug: 'big', dockerfile: 'FROM debian-13\nCOPY big /big', files: { big } },
    });
    assert.equal(response.status, 202, JSON.stringify(response.body));
    const other = await server.request('POST', '/v1/runtimes', {
      body: { slug: 'r', model: 'claude-sonnet-4-5', systemPrompt: big },
    });
    assert.equal(other.status, 413);
  });
});
