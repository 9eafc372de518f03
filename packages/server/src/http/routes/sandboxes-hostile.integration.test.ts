import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useTestEngine } from '@runtools/sandbox/testing';
import fc from 'fast-check';
import { type Database, openDatabase } from '../../db/database.ts';
import { startTestServer, type TestServer, testBootstrapKey } from '../../testing/test-server.ts';

const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', '/../..', '/.rt/x', 'debian-13', '-1', ''),
  fc.integer({ min: 1, max: 200_000 }).map((n) => 'x'.repeat(n)),
);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.jsonValue(),
  fc.constantFrom(null, true, 0, -1, 1e308, 2 ** 53, 0.5, [], {}),
  fc.array(hostileString, { maxLength: 4 }),
  fc.dictionary(
    fc.oneof(
      fc.constantFrom('cpu', 'memoryMiB', 'pids', 'diskMiB', 'mode', 'allowOut'),
      fc.string(),
    ),
    fc.oneof(fc.jsonValue(), hostileString),
    { maxKeys: 4 },
  ),
);

/** Every byte percent-encoded (encodeURIComponent throws on a lone surrogate). */
function percentEncode(text: string): string {
  return [...Buffer.from(text)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}

const fields = [
  'template',
  'timeoutMs',
  'env',
  'cwd',
  'metadata',
  'onTimeout',
  'resources',
  'network',
  'command',
  'background',
  'stdin',
];

/** Bodies that pass the API's schema now and then, so the engine's own checks run too. */
const nearlyValid = fc.oneof(
  fc.record(
    {
      template: fc.constantFrom('debian-13', 'nope', 'debian-13@1'),
      cwd: fc.oneof(hostileString, fc.constantFrom('/', '/nonexistent', 'relative')),
      env: fc.dictionary(fc.constantFrom('A', 'PATH', 'HOME', '_x', '1bad'), hostileString, {
        maxKeys: 3,
      }),
      metadata: fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
      resources: fc.record(
        {
          cpu: fc.double({ min: -1, max: 300, noNaN: true }),
          memoryMiB: fc.integer({ min: -1, max: 2_000_000 }),
          pids: fc.integer({ min: -1, max: 5_000_000 }),
        },
        { requiredKeys: [] },
      ),
      network: fc.record(
        {
          mode: fc.constantFrom('none', 'egress', 'all'),
          allowOut: fc.array(fc.constantFrom('10.0.0.0/8', '300.1.1.1', 'x', '1.2.3.4/33')),
        },
        { requiredKeys: ['mode'] },
      ),
    },
    { requiredKeys: ['template'] },
  ),
  fc.record(
    {
      command: fc.oneof(hostileString, fc.array(hostileString, { minLength: 1, maxLength: 3 })),
      cwd: fc.oneof(hostileString, fc.constantFrom('/', '/nonexistent', 'tmp', '/etc/passwd')),
      env: fc.dictionary(fc.constantFrom('A', 'B_2', 'bad-name'), hostileString, { maxKeys: 2 }),
      timeoutMs: fc.integer({ min: -1, max: 2000 }),
      stdin: hostileString,
      background: fc.boolean(),
    },
    { requiredKeys: ['command', 'timeoutMs'] },
  ),
  fc.record({ timeoutMs: fc.integer({ min: -1, max: 10 ** 9 }) }),
  fc.record(
    {
      template: fc.constant('debian-13'),
      resources: fc.record({ memoryMiB: fc.integer({ min: 16, max: 1024 }) }),
      metadata: fc.dictionary(fc.string({ minLength: 1 }), fc.string(), { maxKeys: 2 }),
      cwd: fc.constantFrom('/', '/tmp', '/nonexistent'),
    },
    { requiredKeys: ['template'] },
  ),
  fc.record(
    {
      command: fc.constantFrom('true', 'echo hi', 'exit 3', 'cat /nonexistent', 'cat'),
      cwd: fc.constantFrom('/', '/tmp', '/nonexistent', 'tmp'),
      stdin: fc.string(),
      env: fc.dictionary(fc.constantFrom('A', 'B'), fc.string(), { maxKeys: 2 }),
      timeoutMs: fc.constant(2000),
    },
    { requiredKeys: ['command', 'timeoutMs'] },
  ),
);

const hostileBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  nearlyValid.map((v) => JSON.stringify(v)),
  nearlyValid.map((v) => JSON.stringify(v)),
  fc
    .dictionary(fc.oneof(fc.constantFrom(...fields), fc.string()), hostileValue, { maxKeys: 6 })
    .map((v) => JSON.stringify(v)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.uint8Array({ maxLength: 2048 }),
  fc.constantFrom('', '{', 'null', '[]', '{"template":"debian-13","timeoutMs":1e999}'),
);

describe('hostile requests to the sandbox routes, with a real engine', () => {
  const t = useTestEngine('sbx-hostile');
  let server: TestServer;
  let database: Database;
  let dir: string;
  let id: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'runtools-sbx-hostile-'));
    database = await openDatabase({ kind: 'sqlite', dataDir: dir });
    server = await startTestServer(database, { engine: t.engine });
    // A fuzzed PATCH may give it a short timeout: paused then, so later requests still reach it.
    id = (await t.engine.create({ template: 'debian-13', onTimeout: 'pause' })).id;
  });

  after(async () => {
    await server?.[Symbol.asyncDispose]();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('never answer 5xx, always in the error shape', async () => {
    const routes: Array<[string, (id: string, path: string) => string]> = [
      ['POST', () => '/v1/sandboxes'],
      ['PATCH', (id) => `/v1/sandboxes/${id}`],
      ['POST', (id) => `/v1/sandboxes/${id}/exec`],
      ['PUT', (id, path) => `/v1/sandboxes/${id}/files?path=${path}`],
      ['GET', (id, path) => `/v1/sandboxes/${id}/files?path=${path}`],
      ['GET', (id, path) => `/v1/sandboxes/${id}/ports/${path}`],
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.oneof(fc.constant(id), fc.string({ minLength: 1 }).map(percentEncode)),
        fc.oneof(hostileString, fc.constantFrom('/etc', '/root', '/tmp/x')).map(percentEncode),
        hostileBody,
        async ([method, path], sandboxId, filePath, body) => {
          const url = path(sandboxId, filePath);
          const response = await fetch(new URL(url, server.url), {
            method,
            headers: {
              authorization: `Bearer ${testBootstrapKey}`,
              'content-type': 'application/json',
            },
            body: method === 'GET' ? undefined : body,
            signal: AbortSignal.timeout(30_000),
          });
          const text = await response.text();
          assert.ok(
            response.status < 500,
            `${method} ${url} → ${response.status} ${text.slice(0, 500)}`,
          );
          if (response.status >= 400) {
            const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
            assert.equal(typeof parsed.error?.code, 'string', text);
            assert.equal(typeof parsed.error?.message, 'string', text);
          }
          // A body that happened to be valid may have created a sandbox: keep the host small.
          if (method === 'POST' && url === '/v1/sandboxes' && response.status === 201) {
            await t.engine.delete((JSON.parse(text) as { id: string }).id);
          }
        },
      ),
      { numRuns: 600 },
    );
  });
});
