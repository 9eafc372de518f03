import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { describeEachDatabase } from '../../testing/test-databases.ts';
import { startTestServer } from '../../testing/test-server.ts';

interface TemplateJson {
  id: string | null;
  slug: string;
  kind: string;
  status: string;
  build: unknown;
  builtHere: boolean;
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
    assert.ok(page.data.every((t) => t.builtHere === false));
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
      body: { apiSlug: 'bot', runtimeId: (runtime.body as { id: string }).id, template: 'web' },
    });
    const refused = await server.request('DELETE', '/v1/templates/web');
    assert.equal(refused.status, 409);
    assert.equal(errorCode(refused.body), 'template_in_use');
    await server.request('DELETE', `/v1/deployments/${(deployment.body as { id: string }).id}`);
    assert.equal((await server.request('DELETE', '/v1/templates/web')).status, 204);
    assert.equal((await server.request('DELETE', '/v1/templates/web')).status, 404);
  });

  it('patches part of a definition and keeps the rest', async () => {
    await using server = await startTestServer(await open());
    await server.request('POST', '/v1/templates', {
      body: { slug: 'web', spec: { os: 'debian-13', apt: ['jq'] } },
    });
    const patched = await server.request('PATCH', '/v1/templates/web', {
      body: { spec: { env: { A: '1' } } },
    });
    assert.equal(patched.status, 202, JSON.stringify(patched.body));
    assert.deepEqual((patched.body as TemplateJson).spec?.apt, ['jq']);
    assert.deepEqual((patched.body as TemplateJson).spec?.env, { A: '1' });

    await server.request('POST', '/v1/templates', {
      body: { slug: 'app', dockerfile: 'FROM debian-13\nCOPY a /a', files: { a: 'x' } },
    });
    const before = await server.store.templates.require('app');
    const same = await server.request('PATCH', '/v1/templates/app', {
      body: { files: { a: 'x' } },
    });
    assert.equal(same.status, 202);
    assert.equal((await server.store.templates.require('app')).updatedAt, before.updatedAt);
    const docker = await server.request('PATCH', '/v1/templates/app', {
      body: { dockerfile: 'FROM debian-13\nCOPY a /b' },
    });
    assert.deepEqual((docker.body as TemplateJson).files, ['a']);
    assert.equal((docker.body as TemplateJson).dockerfile, 'FROM debian-13\nCOPY a /b');
    const both = await server.request('PATCH', '/v1/templates/app', {
      body: { spec: { os: 'debian-13' }, dockerfile: 'FROM debian-13' },
    });
    assert.equal(both.status, 400);
    const noDockerfile = await server.request('PATCH', '/v1/templates/web', {
      body: { files: { a: 'x' } },
    });
    assert.equal(noDockerfile.status, 400);
    const missing = await server.request('PATCH', '/v1/templates/nope', {
      body: { spec: { os: 'debian-13' } },
    });
    assert.equal(missing.status, 404);
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

describeEachDatabase('hostile template requests', ({ open }) => {
  it('never answer 5xx, always in the error shape', async () => {
    await using server = await startTestServer(await open());
    await server.request('POST', '/v1/templates', {
      body: { slug: 'target', spec: { os: 'debian-13' } },
    });
    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.constantFrom('\u0000', '..', '/', 'a/../b', '__proto__', 'FROM debian-13', '\ud800'),
    );
    const dockerfile = fc.oneof(
      text,
      fc
        .array(
          fc.oneof(
            text,
            fc.constantFrom(
              'FROM debian-13',
              'FROM scratch AS x',
              'COPY --from=x / /',
              'RUN \\',
              'ARG A=1',
              'FROM $A',
              '# escape=`',
              'RUN <<EOF',
              'ONBUILD RUN x',
            ),
          ),
          { maxLength: 8 },
        )
        .map((lines) => lines.join('\n')),
    );
    const value = fc.oneof(text, fc.jsonValue(), fc.constantFrom(null, 0, -1, 1e308, [], {}));
    const body = fc.oneof(
      fc.record(
        {
          slug: fc.oneof(text, fc.constantFrom('target', 'web', 'debian-13')),
          spec: fc.oneof(
            value,
            fc.dictionary(
              fc.constantFrom('os', 'slug', 'runtimes', 'apt', 'npm', 'pip', 'env', 'startCmd'),
              fc.oneof(value, fc.constant('debian-13')),
            ),
          ),
          dockerfile: fc.oneof(dockerfile, value),
          files: fc.oneof(
            value,
            fc.dictionary(
              text,
              fc.oneof(
                text,
                value,
                fc.record(
                  {
                    content: text,
                    encoding: fc.constantFrom('utf8', 'base64', 'hex'),
                    mode: fc.oneof(fc.integer(), fc.double()),
                  },
                  { requiredKeys: [] },
                ),
              ),
            ),
          ),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue(),
    );
    const route = fc.constantFrom(
      ['POST', '/v1/templates'],
      ['PUT', '/v1/templates/target'],
      ['PUT', '/v1/templates/web'],
      ['PATCH', '/v1/templates/target'],
      ['PATCH', '/v1/templates/web'],
      ['POST', '/v1/templates/target/builds'],
    );
    await fc.assert(
      fc.asyncProperty(route, body, async ([method, path], json) => {
        const response = await server.request(method as string, path as string, { body: json });
        const unavailable =
          response.status === 503 && errorCode(response.body) === 'sandboxes_unavailable';
        assert.ok(
          response.status < 500 || unavailable,
          `${method} ${path} ${JSON.stringify(json)} → ${response.status} ${JSON.stringify(response.body)}`,
        );
        if (response.status >= 400) assert.equal(typeof errorCode(response.body), 'string');
      }),
      { numRuns: 300 },
    );
    const paths = fc.constantFrom(
      '/v1/templates',
      '/v1/templates/target',
      '/v1/templates/target/builds',
      '/v1/templates/target/builds/x',
      '/v1/templates/target/builds/x/logs',
    );
    await fc.assert(
      fc.asyncProperty(
        paths,
        fc.constantFrom('GET', 'DELETE'),
        fc.option(
          fc.oneof(
            fc.string({ minLength: 1, maxLength: 300 }),
            fc.constantFrom('..', '%00', 'debian-13'),
          ),
          {
            nil: undefined,
          },
        ),
        fc.array(fc.tuple(fc.constantFrom('limit', 'cursor', 'after', 'x'), text), {
          maxLength: 3,
        }),
        async (path, method, segment, query) => {
          const base = segment === undefined ? path : `${path}/${encodeURIComponent(segment)}`;
          const search = new URLSearchParams(query.map(([k, v]): [string, string] => [k, v]));
          const response = await server.request(method, `${base}?${search.toString()}`);
          assert.ok(response.status < 500, `${method} ${base} → ${response.status}`);
          if (response.status >= 400) assert.equal(typeof errorCode(response.body), 'string');
        },
      ),
      { numRuns: 200 },
    );
  });
});
