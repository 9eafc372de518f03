import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { startTestServer, testBootstrapKey } from '../testing/test-server.ts';

/** Field names the routes know, so random bodies get past "unrecognized key" now and then. */
const knownFields = [
  'slug',
  'model',
  'systemPrompt',
  'tools',
  'env',
  'maxSteps',
  'apiSlug',
  'runtimeId',
  'template',
  'name',
  'url',
  'events',
  'input',
  'metadata',
  'async',
  'deploymentId',
  'command',
  'timeoutMs',
  'background',
  'cwd',
  'stdin',
  'onTimeout',
  'resources',
  'network',
];

/** Without an engine, a sandbox route that validated the request answers 503 (and only that). */
function unavailable(status: number, text: string): boolean {
  return status === 503 && text.includes('"sandboxes_unavailable"');
}

const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', '🧨'.repeat(1000), 'run.completed', 'x'),
  fc.integer({ min: 1, max: 300_000 }).map((n) => 'x'.repeat(n)),
);

const hostileValue = fc.oneof(
  hostileString,
  fc.jsonValue(),
  fc.constantFrom(null, true, 0, -1, 1e308, [], {}),
  fc.array(hostileString, { maxLength: 5 }),
);

const deep = fc
  .tuple(fc.integer({ min: 1, max: 200_000 }), fc.constantFrom('[', '{"a":'))
  .map(([depth, open]) => open.repeat(depth) + (open === '[' ? ']' : '1}').repeat(depth));

/** A raw request body: JSON of all kinds, broken JSON, deep nesting, random bytes. */
const hostileBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc
    .dictionary(fc.oneof(fc.constantFrom(...knownFields), fc.string()), hostileValue, {
      maxKeys: 8,
    })
    .map((v) => JSON.stringify(v)),
  fc.string(),
  fc.uint8Array({ maxLength: 4096 }),
  deep,
  fc.constantFrom('', '{', 'null', '"str"', '[]', '{"__proto__":{"x":1}}', '1e999999'),
  fc.integer({ min: 1_000_000, max: 1_100_000 }).map((n) => `"${'y'.repeat(n)}"`),
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'application/vnd.api+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
);

describeEachDatabase('hostile request bodies', ({ open }) => {
  it('never answer 5xx on any POST/PUT/PATCH route, always in the error shape', async () => {
    await using server = await startTestServer(await open());
    const runtime = await server.request('POST', '/v1/runtimes', {
      body: { slug: 'target', model: 'claude-sonnet-4-5', systemPrompt: 'Hi.' },
    });
    const runtimeId = (runtime.body as { id: string }).id;
    const deployment = await server.request('POST', '/v1/deployments', {
      body: { apiSlug: 'target', runtimeId: runtimeId, template: 't' },
    });
    const deploymentId = (deployment.body as { id: string }).id;
    const routes: Array<[string, (id: string) => string]> = [
      ['POST', () => '/v1/runtimes'],
      ['PUT', (id) => `/v1/runtimes/${id}`],
      ['POST', () => '/v1/deployments'],
      ['PATCH', (id) => `/v1/deployments/${id}`],
      ['POST', () => '/v1/api-keys'],
      ['POST', () => '/v1/webhooks'],
      // Random slugs: none is served (a served one would wait for a run no worker takes).
      ['POST', (id) => `/v1/run/${id}`],
      ['POST', (id) => `/v1/runs/${id}/cancel`],
      ['POST', (id) => `/v1/runs/${id}/resume`],
      ['POST', () => '/v1/sandboxes'],
      ['PATCH', (id) => `/v1/sandboxes/${id}`],
      ['POST', (id) => `/v1/sandboxes/${id}/exec`],
      ['POST', (id) => `/v1/sandboxes/${id}/pause`],
      ['PUT', (id) => `/v1/sandboxes/${id}/files?path=/x`],
      ['POST', (id) => `/v1/sandboxes/${id}/ports/8000/x`],
    ];
    const pathId = fc.oneof(
      fc.constantFrom(runtimeId, deploymentId),
      fc.string({ minLength: 1 }).map(encodeURIComponent),
      fc.constant('%00'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        pathId,
        hostileBody,
        contentType,
        async ([method, path], id, body, type) => {
          const response = await fetch(new URL(path(id), server.url), {
            method,
            headers: { authorization: `Bearer ${testBootstrapKey}`, 'content-type': type },
            body,
          });
          const text = await response.text();
          assert.ok(
            response.status < 500 || unavailable(response.status, text),
            `${method} ${path(id)} → ${response.status} ${text}`,
          );
          if (response.status >= 400) {
            const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
            assert.equal(typeof parsed.error?.code, 'string', text);
            assert.equal(typeof parsed.error?.message, 'string', text);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describeEachDatabase('hostile queries and paths', ({ open }) => {
  it('never answer 5xx on any GET or DELETE route, always in the error shape', async () => {
    await using server = await startTestServer(await open());
    const paths = [
      '/v1/runtimes',
      '/v1/deployments',
      '/v1/api-keys',
      '/v1/webhooks',
      '/v1/runs',
      '/v1/sandboxes',
    ] as const;
    const param = fc.constantFrom('limit', 'cursor', 'slug', 'status', 'deploymentId', 'x');
    const value = fc.oneof(hostileString, fc.constantFrom('0', '-1', '1e3', 'NaN', '%00', ''));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.constantFrom('GET', 'DELETE'),
        fc.option(fc.string({ minLength: 1, maxLength: 300 }), { nil: undefined }),
        fc.array(fc.tuple(param, value), { maxLength: 4 }),
        async (path, method, id, query) => {
          const search = new URLSearchParams(
            query.map(([k, v]): [string, string] => [k, v.slice(0, 2000)]),
          );
          const base = id === undefined ? path : `${path}/${encodeURIComponent(id)}`;
          const url = `${base}?${search.toString()}`;
          const response = await fetch(new URL(url, server.url), {
            method,
            headers: { authorization: `Bearer ${testBootstrapKey}` },
          });
          const text = await response.text();
          assert.ok(
            response.status < 500 || unavailable(response.status, text),
            `${method} ${url} → ${response.status} ${text}`,
          );
          if (response.status >= 400) {
            const parsed = JSON.parse(text) as { error?: { code?: unknown } };
            assert.equal(typeof parsed.error?.code, 'string', text);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
