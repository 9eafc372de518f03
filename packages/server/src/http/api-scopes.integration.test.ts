import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestModelServer } from '@runtools/agent/testing';
import { waitFor } from '@runtools/sandbox/testing';
import { apiScopes } from '@runtools/sdk/api';
import WebSocket from 'ws';
import { type Database, openDatabase } from '../db/database.ts';
import {
  type ControlPlane,
  deployScriptedAgent,
  startControlPlane,
} from '../testing/control-plane.ts';
import type { TestResponse } from '../testing/test-server.ts';

interface ErrorJson {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

function errorOf(response: TestResponse): ErrorJson['error'] {
  return (response.body as ErrorJson).error;
}

/** Attacks on the API with keys of too little scope (real server on loopback, real sandboxes). */
describe('scoped API keys', () => {
  const dbDir = mkdtempSync(join(tmpdir(), 'runtools-scopes-'));
  let database: Database;
  let model: TestModelServer;
  let cp: ControlPlane;

  const createKey = async (body: Record<string, unknown>, key?: string) => {
    const response = await cp.request('POST', '/v1/api-keys', {
      body: { name: 'test', ...body },
      ...(key ? { key } : {}),
    });
    return response;
  };
  const keyWith = async (body: Record<string, unknown>) => {
    const response = await createKey(body);
    assert.equal(response.status, 201, JSON.stringify(response.body));
    return response.body as { id: string; key: string; scopes: string[]; deployments: unknown };
  };

  before(async () => {
    database = await openDatabase({ kind: 'sqlite', dataDir: dbDir });
    model = await TestModelServer.start();
    cp = await startControlPlane(database, { app: { runWaitMs: 30_000 } });
    await deployScriptedAgent(cp, model.url, 'alpha');
    await deployScriptedAgent(cp, model.url, 'beta');
  });
  after(async () => {
    await cp?.close();
    await model?.close();
    await database?.close();
    rmSync(dbDir, { recursive: true, force: true });
  });

  it('a key without "deploy" cannot define templates, runtimes or deployments', async () => {
    const { key } = await keyWith({ scopes: ['run', 'sandboxes'] });
    const attempts: Array<[string, string, unknown]> = [
      ['POST', '/v1/templates', { slug: 'evil', os: 'debian-13', apt: ['jq'] }],
      ['PUT', '/v1/templates/evil', { os: 'debian-13' }],
      ['POST', '/v1/runtimes', { slug: 'evil', model: 'scripted', systemPrompt: 'x' }],
      ['POST', '/v1/deployments', { apiSlug: 'evil', runtimeId: 'rtm_x', template: 'debian-13' }],
      ['DELETE', '/v1/deployments/dep_x', undefined],
    ];
    for (const [method, path, body] of attempts) {
      const response = await cp.request(method, path, { key, body });
      assert.equal(response.status, 403, `${method} ${path}: ${JSON.stringify(response.body)}`);
      assert.equal(errorOf(response).code, 'insufficient_scope');
      assert.deepEqual(errorOf(response).details?.requiredScopes, ['deploy']);
      assert.match(errorOf(response).message, /"deploy" scope/);
    }
    // Reading templates is also a sandbox user's business.
    assert.equal((await cp.request('GET', '/v1/templates', { key })).status, 200);
    assert.equal((await cp.request('GET', '/v1/templates/evil', { key })).status, 404);
  });

  it('only "admin" manages keys and webhooks, and a key mints no scope it lacks', async () => {
    const deployer = await keyWith({ scopes: ['deploy'] });
    for (const [method, path] of [
      ['GET', '/v1/api-keys'],
      ['POST', '/v1/api-keys'],
      ['DELETE', `/v1/api-keys/${deployer.id}`],
      ['GET', '/v1/webhooks'],
      ['POST', '/v1/webhooks'],
    ] as const) {
      const response = await cp.request(method, path, {
        key: deployer.key,
        body: method === 'POST' ? { name: 'x', url: 'https://example.com/hook' } : undefined,
      });
      assert.equal(response.status, 403, `${method} ${path}`);
      assert.deepEqual(errorOf(response).details?.requiredScopes, ['admin']);
    }

    const admin = await keyWith({ scopes: ['admin'] });
    const escalate = await createKey({ scopes: ['admin', 'sandboxes'] }, admin.key);
    assert.equal(escalate.status, 403);
    assert.equal(errorOf(escalate).code, 'insufficient_scope');
    assert.deepEqual(errorOf(escalate).details?.requiredScopes, ['sandboxes']);
    const inherited = await createKey({}, admin.key);
    assert.equal(inherited.status, 201);
    assert.deepEqual((inherited.body as { scopes: string[] }).scopes, ['admin']);

    const everything = await keyWith({});
    assert.deepEqual(everything.scopes, [...apiScopes], 'the bootstrap key gives all it has');
    assert.equal(everything.deployments, null);
    const listed = await cp.request('GET', '/v1/api-keys?limit=100');
    const row = (listed.body as { data: Array<{ id: string; scopes: string[] }> }).data.find(
      (k) => k.id === admin.id,
    );
    assert.deepEqual(row?.scopes, ['admin']);
  });

  it('a deployment-restricted key runs its deployment and sees nothing of the others', async () => {
    const app = await keyWith({ name: 'web app', deployments: ['alpha'] });
    assert.deepEqual(app.scopes, ['run']);
    assert.deepEqual(app.deployments, ['alpha']);

    model.push({ text: 'Alpha answered.' });
    const own = await cp.request('POST', '/v1/run/alpha', {
      key: app.key,
      body: { input: 'hi' },
    });
    assert.equal(own.status, 200, JSON.stringify(own.body));
    const ownRunId = (own.body as { runId: string }).runId;
    assert.equal((await cp.request('GET', `/v1/runs/${ownRunId}`, { key: app.key })).status, 200);

    const other = await cp.request('POST', '/v1/run/beta', { key: app.key, body: { input: 'x' } });
    assert.equal(other.status, 404);
    assert.equal(errorOf(other).code, 'deployment_not_found');

    model.push({ text: 'Beta answered.' });
    const betaRun = await cp.request('POST', '/v1/run/beta', { body: { input: 'by admin' } });
    assert.equal(betaRun.status, 200, JSON.stringify(betaRun.body));
    const betaRunId = (betaRun.body as { runId: string }).runId;
    for (const [method, path] of [
      ['GET', `/v1/runs/${betaRunId}`],
      ['GET', `/v1/runs/${betaRunId}?include=events`],
      ['GET', `/v1/runs/${betaRunId}/events`],
      ['POST', `/v1/runs/${betaRunId}/cancel`],
      ['POST', `/v1/runs/${betaRunId}/pause`],
      ['POST', `/v1/runs/${betaRunId}/resume`],
    ] as const) {
      const response = await cp.request(method, path, { key: app.key });
      assert.equal(response.status, 404, `${method} ${path}`);
      assert.equal(errorOf(response).code, 'run_not_found');
    }
    const wsStatus = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${cp.url.replace(/^http/, 'ws')}/v1/runs/${betaRunId}/stream`, {
        headers: { authorization: `Bearer ${app.key}` },
      });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => {
        resolve(101);
        ws.terminate();
      });
      ws.on('error', () => {});
    });
    assert.equal(wsStatus, 404);

    const runs = await cp.request('GET', '/v1/runs?limit=100', { key: app.key });
    const ids = (runs.body as { data: Array<{ id: string }> }).data.map((r) => r.id);
    assert.ok(ids.includes(ownRunId));
    assert.ok(!ids.includes(betaRunId), 'the list shows no run of another deployment');
    const deployments = await cp.request('GET', '/v1/deployments', { key: app.key });
    assert.deepEqual(
      (deployments.body as { data: Array<{ apiSlug: string }> }).data.map((d) => d.apiSlug),
      ['alpha'],
    );

    // No sandbox, no keys, no definitions.
    const sandbox = await cp.request('POST', '/v1/sandboxes', {
      key: app.key,
      body: { template: 'debian-13' },
    });
    assert.equal(sandbox.status, 403);
    assert.deepEqual(errorOf(sandbox).details?.requiredScopes, ['sandboxes']);
    const port = await cp.request('GET', '/v1/sandboxes/sbx_anything/ports/8000/', {
      key: app.key,
    });
    assert.equal(port.status, 403);
    assert.equal((await createKey({}, app.key)).status, 403);
    const wider = await createKey({ deployments: ['alpha'], scopes: ['run', 'sandboxes'] });
    assert.equal(wider.status, 400, 'a restricted key holds only "run"');
  });

  it('revoking a key closes its WebSocket and SSE streams within a second', async () => {
    const { id, key } = await keyWith({ scopes: ['run'] });
    let release!: () => void;
    model.push({ text: 'Held answer.', hold: new Promise<void>((r) => (release = r)) });
    const started = await cp.request('POST', '/v1/run/alpha', {
      key,
      body: { input: 'hold on', async: true },
    });
    assert.equal(started.status, 202);
    const runId = (started.body as { runId: string }).runId;

    const ws = new WebSocket(`${cp.url.replace(/^http/, 'ws')}/v1/runs/${runId}/stream`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const wsClosed = new Promise<number>((resolve) => ws.on('close', () => resolve(Date.now())));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const sse = await fetch(`${cp.url}/v1/runs/${runId}/events`, {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(sse.status, 200);
    const sseEnded = (async () => {
      const reader = (sse.body as ReadableStream<Uint8Array>).getReader();
      try {
        for (;;) if ((await reader.read()).done) break;
      } catch {
        // a destroyed connection ends the read with an error: ended all the same
      }
      return Date.now();
    })();

    const revokedAt = Date.now();
    const revoke = await cp.request('DELETE', `/v1/api-keys/${id}`);
    assert.equal(revoke.status, 200);
    const [wsAt, sseAt] = await Promise.all([wsClosed, sseEnded]);
    assert.ok(wsAt - revokedAt < 1000, `WebSocket closed after ${wsAt - revokedAt} ms`);
    assert.ok(sseAt - revokedAt < 1000, `SSE ended after ${sseAt - revokedAt} ms`);
    assert.equal((await cp.request('GET', `/v1/runs/${runId}`, { key })).status, 401);

    // A key revoked by another server (only the database changes) is noticed too.
    const second = await keyWith({ scopes: ['run'] });
    const sse2 = await fetch(`${cp.url}/v1/runs/${runId}/events`, {
      headers: { authorization: `Bearer ${second.key}` },
    });
    const ended2 = (async () => {
      const reader = (sse2.body as ReadableStream<Uint8Array>).getReader();
      try {
        for (;;) if ((await reader.read()).done) break;
      } catch {
        // ended
      }
      return Date.now();
    })();
    const at = Date.now();
    await cp.store.apiKeys.revoke(second.id);
    const endedAt = await ended2;
    assert.ok(endedAt - at < 1500, `SSE of a key revoked elsewhere ended after ${endedAt - at} ms`);

    release();
    await cp.request('POST', `/v1/runs/${runId}/cancel`);
    await waitFor(async () => cp.engine.list().length === 0, { timeoutMs: 30_000 });
  });

  it('the OpenAPI document names the scopes of every operation', async () => {
    const doc = (await cp.request('GET', '/v1/openapi.json')).body as {
      paths: Record<string, Record<string, { security?: Array<Record<string, string[]>> }>>;
    };
    const unscoped: string[] = [];
    for (const [path, operations] of Object.entries(doc.paths)) {
      // Signing in and out concern the session itself, whatever its key may do.
      if (!path.startsWith('/v1/') || path.startsWith('/v1/sessions')) continue;
      for (const [method, operation] of Object.entries(operations)) {
        const scopes = (operation.security ?? []).flatMap((s) => s.Bearer ?? []);
        if (
          scopes.length === 0 ||
          !scopes.every((s) => (apiScopes as readonly string[]).includes(s))
        )
          unscoped.push(`${method.toUpperCase()} ${path}`);
      }
    }
    assert.deepEqual(unscoped, []);
    assert.deepEqual(doc.paths['/v1/api-keys']?.post?.security, [{ Bearer: ['admin'] }]);
    assert.deepEqual(doc.paths['/v1/deployments']?.get?.security, [
      { Bearer: ['deploy'] },
      { Bearer: ['run'] },
    ]);
  });
});
