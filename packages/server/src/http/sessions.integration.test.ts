import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { type Database, openDatabase } from '../db/database.ts';
import { startTestServer, type TestServer, testBootstrapKey } from '../testing/test-server.ts';

interface SessionJson {
  apiKey: { id: string | null; name: string; scopes: string[] };
  csrfToken: string;
}

/** The dashboard's sign-in, attacked as a page of another site and as a revoked key would. */
describe('browser sessions (POST /v1/sessions, cookie + CSRF)', () => {
  let dir: string;
  let database: Database;
  let server: TestServer;

  const signIn = async (key: string) => {
    const response = await fetch(`${server.url}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
    const cookie = response.headers.get('set-cookie') ?? '';
    return {
      status: response.status,
      cookie,
      pair: cookie.split(';')[0] as string,
      body: (await response.json()) as SessionJson,
    };
  };
  const withCookie = (
    pair: string,
    method: string,
    path: string,
    init: { body?: unknown; headers?: Record<string, string> } = {},
  ) =>
    server.request(method, path, {
      key: null,
      headers: { cookie: pair, ...init.headers },
      ...(init.body === undefined ? {} : { body: init.body }),
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'runtools-sessions-'));
    database = await openDatabase({ kind: 'sqlite', dataDir: dir });
    server = await startTestServer(database);
  });
  after(async () => {
    await server?.[Symbol.asyncDispose]();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exchanges a key for an HttpOnly SameSite=Strict cookie that is not the key', async () => {
    const bad = await signIn('rtk_not-a-key');
    assert.equal(bad.status, 401);
    assert.equal(bad.cookie, '');
    const { status, cookie, body } = await signIn(testBootstrapKey);
    assert.equal(status, 201);
    assert.match(
      cookie,
      /^runtoolsSession=[\w-]{30,}; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict$/,
    );
    assert.ok(!cookie.includes(testBootstrapKey));
    assert.equal(body.apiKey.id, null);
    assert.deepEqual(body.apiKey.scopes, ['admin', 'deploy', 'run', 'sandboxes']);
    const raw = Buffer.from(
      await import('node:fs').then((fs) => fs.readFileSync(join(dir, 'runtools.db'))),
    );
    assert.ok(!raw.includes(cookie.split(';')[0]?.split('=')[1] ?? '-'), 'only the hash is stored');
  });

  it('reads with the cookie, and writes only with the CSRF token', async () => {
    const { pair, body } = await signIn(testBootstrapKey);
    assert.equal((await withCookie(pair, 'GET', '/v1/runtimes')).status, 200);
    const me = await withCookie(pair, 'GET', '/v1/sessions/current');
    assert.equal((me.body as SessionJson).csrfToken, body.csrfToken);

    const runtime = { slug: 'via-cookie', model: 'scripted' };
    const forged = await withCookie(pair, 'POST', '/v1/runtimes', { body: runtime });
    assert.equal(forged.status, 403);
    assert.equal((forged.body as { error: { code: string } }).error.code, 'csrf_token_invalid');
    const wrong = await withCookie(pair, 'POST', '/v1/runtimes', {
      body: runtime,
      headers: { 'x-runtools-csrf': 'x'.repeat(body.csrfToken.length) },
    });
    assert.equal(wrong.status, 403);
    const made = await withCookie(pair, 'POST', '/v1/runtimes', {
      body: runtime,
      headers: { 'x-runtools-csrf': body.csrfToken },
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
  });

  it("refuses a WebSocket from another site's page", async () => {
    const { pair } = await signIn(testBootstrapKey);
    const url = `${server.url.replace(/^http/, 'ws')}/v1/runs/run_x/stream`;
    const status = (origin: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, { headers: { cookie: pair, origin } });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          resolve(101);
          ws.terminate();
        });
        ws.on('error', () => {});
      });
    assert.equal(await status('https://evil.example'), 403);
    // Its own origin gets through the session check (to the route, which knows no such run).
    assert.equal(await status(server.url), 404);
  });

  it('keeps the key’s scopes, and ends with sign-out or the key’s revocation', async () => {
    const created = await server.request('POST', '/v1/api-keys', {
      body: { name: 'viewer', scopes: ['run'] },
    });
    const { id, key } = created.body as { id: string; key: string };
    const viewer = await signIn(key);
    assert.deepEqual(viewer.body.apiKey.scopes, ['run']);
    const templates = await withCookie(viewer.pair, 'POST', '/v1/templates', {
      body: { slug: 'x', os: 'debian-13' },
      headers: { 'x-runtools-csrf': viewer.body.csrfToken },
    });
    assert.equal(templates.status, 403);
    assert.equal((templates.body as { error: { code: string } }).error.code, 'insufficient_scope');
    await server.request('DELETE', `/v1/api-keys/${id}`);
    assert.equal((await withCookie(viewer.pair, 'GET', '/v1/runs')).status, 401);

    const admin = await signIn(testBootstrapKey);
    const out = await withCookie(admin.pair, 'DELETE', '/v1/sessions/current', {
      headers: { 'x-runtools-csrf': admin.body.csrfToken },
    });
    assert.equal(out.status, 204);
    assert.equal((await withCookie(admin.pair, 'GET', '/v1/runtimes')).status, 401);
  });
});
