import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RunToolsError } from '@runtools/sdk';
import type { ErrorCode } from '@runtools/sdk/api';
import { createStore } from '../store/store.ts';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { startTestServer } from '../testing/test-server.ts';
import { createApp } from './create-app.ts';
import { statusForCode } from './errors.ts';
import type { Logger } from './logger.ts';
import { serve } from './serve.ts';

describe('statusForCode', () => {
  it('maps codes to status in one place: the contract', () => {
    const cases: Array<[ErrorCode, number]> = [
      ['invalid_input', 400],
      ['invalid_options', 400],
      ['unauthorized', 401],
      ['runtime_not_found', 404],
      ['run_state', 409],
      ['sandbox_state', 409],
      ['deployment_slug_taken', 409],
      ['runtime_in_use', 409],
      ['payload_too_large', 413],
      ['rate_limited', 429],
      // Every error of a pause or resume CRIU could not make is typed, never a bare 500.
      ['checkpoint_failed', 409],
      ['restore_failed', 503],
      ['internal_error', 500],
    ];
    for (const [code, status] of cases) assert.equal(statusForCode(code), status, code);
  });
});

describeEachDatabase('http errors', ({ open }) => {
  it('answers unknown routes with 404 and wrong methods with 405, in the error shape', async () => {
    await using server = await startTestServer(await open());
    const missing = await server.request('GET', '/v1/nope');
    assert.equal(missing.status, 404);
    assert.equal((missing.body as { error: { code: string } }).error.code, 'not_found');
    // A GET outside the API is a dashboard page (the app routes in the browser); other methods
    // there are not found.
    const outside = await server.request('POST', '/elsewhere', { key: null });
    assert.equal(outside.status, 404);
    const wrong = await server.request('DELETE', '/v1/runtimes');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, POST');
    assert.equal((wrong.body as { error: { code: string } }).error.code, 'method_not_allowed');
  });

  it('answers malformed JSON with 400 invalid_json and another media type with 415', async () => {
    await using server = await startTestServer(await open());
    const malformed = await server.request('POST', '/v1/api-keys', { raw: '{"name": ' });
    assert.equal(malformed.status, 400);
    assert.equal((malformed.body as { error: { code: string } }).error.code, 'invalid_json');
    const text = await server.request('POST', '/v1/api-keys', {
      raw: 'name=x',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(text.status, 415);
    assert.equal((text.body as { error: { code: string } }).error.code, 'unsupported_media_type');
    const none = await server.request('POST', '/v1/api-keys');
    assert.equal(none.status, 400);
  });

  it('names every failing field of an invalid body', async () => {
    await using server = await startTestServer(await open());
    const response = await server.request('POST', '/v1/runtimes', {
      body: {
        slug: 'Not A Slug',
        model: 'claude-sonnet-4-5',
        maxSteps: 'many',
        systemPrompt: 42,
        extra: 1,
      },
    });
    assert.equal(response.status, 400);
    const { error } = response.body as {
      error: { code: string; message: string; details: { issues: Array<{ field: string }> } };
    };
    assert.equal(error.code, 'invalid_input');
    const fields = error.details.issues.map((i) => i.field).sort();
    assert.deepEqual(fields, ['(body)', 'maxSteps', 'slug', 'systemPrompt']);
    assert.match(error.message, /slug/);
  });

  it('answers an unexpected error with a generic 500, logs the real one, leaks nothing', async () => {
    const database = await open();
    const logged: unknown[] = [];
    const logger: Logger = { info: () => {}, error: (fields) => logged.push(fields.err) };
    const app = createApp({ store: createStore(database), bootstrapKey: 'k', logger });
    app.get('/v1/boom', () => {
      throw new Error('the database password is hunter2');
    });
    app.get('/v1/unmapped', () => {
      throw new RunToolsError('database_migration_failed', 'Cannot migrate /srv/secret.db.');
    });
    app.get('/v1/newer', () => {
      // A code a newer package raises that this server's map does not know: unexpected too.
      throw new RunToolsError('brand_new_code' as ErrorCode, 'At /srv/secret.db.');
    });
    app.get('/v1/restore', () => {
      throw new RunToolsError('restore_failed', 'Sandbox sbx_1 could not be restored: retry.');
    });
    app.get('/v1/coded', () => {
      throw new RunToolsError('sandbox_state', 'Sandbox sbx_1 is paused.', {
        details: { sandboxId: 'sbx_1' },
      });
    });
    await using server = await serve({ app, port: 0 });
    const headers = { authorization: 'Bearer k' };
    const boom = await fetch(`${server.url}/v1/boom`, { headers });
    assert.equal(boom.status, 500);
    const text = await boom.text();
    assert.deepEqual(JSON.parse(text), {
      error: { code: 'internal_error', message: 'An unexpected error occurred.' },
    });
    assert.doesNotMatch(text, /hunter2/);
    assert.match(String((logged[0] as Error).message), /hunter2/);
    const unmapped = await fetch(`${server.url}/v1/unmapped`, { headers });
    assert.equal(unmapped.status, 500);
    assert.doesNotMatch(await unmapped.text(), /secret\.db/);
    const newer = await fetch(`${server.url}/v1/newer`, { headers });
    assert.equal(newer.status, 500);
    assert.doesNotMatch(await newer.text(), /secret\.db/);
    // A declared 503 is the caller's to see: it can retry.
    const restore = await fetch(`${server.url}/v1/restore`, { headers });
    assert.equal(restore.status, 503);
    assert.equal(
      ((await restore.json()) as { error: { code: string } }).error.code,
      'restore_failed',
    );
    const coded = await fetch(`${server.url}/v1/coded`, { headers });
    assert.equal(coded.status, 409);
    assert.deepEqual(await coded.json(), {
      error: {
        code: 'sandbox_state',
        message: 'Sandbox sbx_1 is paused.',
        details: { sandboxId: 'sbx_1' },
      },
    });
  });
});
