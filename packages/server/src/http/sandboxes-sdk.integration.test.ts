import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useTestEngine, waitFor } from '@runtools/sandbox/testing';
import { RunTools, RunToolsApiError } from '@runtools/sdk';
import { type Database, openDatabase } from '../db/database.ts';
import { startTestServer, type TestServer, testBootstrapKey } from '../testing/test-server.ts';

async function rejectsWith(promise: Promise<unknown>, status: number, code: string): Promise<void> {
  const error = await promise.then(
    () => assert.fail(`expected ${status} ${code}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof RunToolsApiError, String(error));
  assert.equal(error.status, status);
  assert.equal(error.code, code);
}

describe('rt.sandboxes against the real server', () => {
  const t = useTestEngine('sbx-sdk');
  let server: TestServer;
  let database: Database;
  let dir: string;
  let rt: RunTools;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'runtools-sbx-sdk-'));
    database = await openDatabase({ kind: 'sqlite', dataDir: dir });
    server = await startTestServer(database, { engine: t.engine });
    rt = new RunTools({ apiKey: testBootstrapKey, baseUrl: server.url });
  });

  after(async () => {
    await server?.[Symbol.asyncDispose]();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates, execs, moves files, pauses, resumes and deletes a sandbox', async () => {
    const sandbox = await rt.sandboxes.create({ template: 'debian-13', env: { NAME: 'sdk' } });
    assert.equal(sandbox.state, 'running');
    assert.equal((await rt.sandboxes.get(sandbox.id)).id, sandbox.id);
    const page = await rt.sandboxes.list({ state: 'running' });
    assert.ok(page.data.some((s) => s.id === sandbox.id));

    const result = await rt.sandboxes.exec(sandbox.id, { command: 'echo "hi $NAME"; exit 2' });
    assert.equal(result.exitCode, 2);
    assert.equal(result.stdout, 'hi sdk\n');

    const chunks: string[] = [];
    const errors: string[] = [];
    const streamed = await rt.sandboxes.exec(sandbox.id, {
      command: 'for i in 1 2 3; do echo line $i; sleep 0.05; done; echo bad >&2',
      onStdout: (text) => chunks.push(text),
      onStderr: (text) => errors.push(text),
    });
    assert.equal(streamed.exitCode, 0);
    assert.equal(chunks.join(''), 'line 1\nline 2\nline 3\n');
    assert.equal(streamed.stdout, 'line 1\nline 2\nline 3\n');
    assert.equal(errors.join(''), 'bad\n');

    const started = await rt.sandboxes.exec(sandbox.id, { command: 'sleep 5', background: true });
    assert.equal(started.background, true);
    assert.ok(started.pid > 0);

    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    assert.deepEqual(await rt.sandboxes.files.write(sandbox.id, '/root/bytes.bin', bytes), {
      path: '/root/bytes.bin',
      size: 256,
    });
    assert.deepEqual(await rt.sandboxes.files.read(sandbox.id, '/root/bytes.bin'), bytes);
    await rt.sandboxes.files.write(sandbox.id, 'notes/hello.txt', 'héllo');
    const text = await rt.sandboxes.files.read(sandbox.id, '/root/notes/hello.txt');
    assert.equal(new TextDecoder().decode(text), 'héllo');
    const listing = await rt.sandboxes.files.list(sandbox.id, '/root/notes');
    assert.deepEqual(
      listing.entries.map((e) => e.name),
      ['hello.txt'],
    );
    await assert.rejects(rt.sandboxes.files.read(sandbox.id, '/root'), { code: 'is_a_directory' });
    await rt.sandboxes.files.remove(sandbox.id, '/root/notes');
    await rejectsWith(
      rt.sandboxes.files.read(sandbox.id, '/root/notes/hello.txt'),
      404,
      'file_not_found',
    );
    await rejectsWith(rt.sandboxes.files.read(sandbox.id, '/../etc/passwd'), 400, 'invalid_path');

    assert.equal((await rt.sandboxes.setTimeout(sandbox.id, 60_000)).timeoutMs, 60_000);
    assert.equal((await rt.sandboxes.pause(sandbox.id)).state, 'paused');
    await rejectsWith(rt.sandboxes.exec(sandbox.id, { command: 'true' }), 409, 'sandbox_state');
    await rejectsWith(
      rt.sandboxes.exec(sandbox.id, { command: 'true', onStdout: () => {} }),
      409,
      'sandbox_state',
    );
    assert.equal((await rt.sandboxes.resume(sandbox.id)).state, 'running');
    assert.equal(
      rt.sandboxes.portUrl(sandbox.id, 3000),
      `${server.url}/v1/sandboxes/${sandbox.id}/ports/3000/`,
    );
    await rt.sandboxes.delete(sandbox.id);
    await rt.sandboxes.delete(sandbox.id); // idempotent
    assert.equal((await rt.sandboxes.get(sandbox.id)).state, 'stopped');
  });

  it('throws typed errors with the API code', async () => {
    await rejectsWith(rt.sandboxes.get('sbx_0000000000000000'), 404, 'sandbox_not_found');
    await rejectsWith(
      rt.sandboxes.create({ template: 'no-such-template' }),
      404,
      'template_not_found',
    );
    await rejectsWith(
      rt.sandboxes.create({ template: 'debian-13', timeoutMs: -5 }),
      400,
      'invalid_input',
    );
    const anonymous = new RunTools({ apiKey: 'rtk_wrong', baseUrl: server.url });
    await rejectsWith(anonymous.sandboxes.list(), 401, 'unauthorized');
    await rejectsWith(anonymous.sandboxes.files.read('sbx_x', '/x'), 401, 'unauthorized');
  });

  it('kills a command when its exec is aborted', async () => {
    const sandbox = await rt.sandboxes.create({ template: 'debian-13' });
    const aborted = new AbortController();
    const running = rt.sandboxes.exec(sandbox.id, {
      command: 'echo go; exec sleep 66',
      onStdout: () => aborted.abort(new Error('enough')),
      signal: aborted.signal,
    });
    await assert.rejects(running, { message: 'enough' });
    // The abort kills the command (the sleep would run 66 s): wait until it no longer runs.
    await waitFor(
      async () =>
        !(await t.engine.get(sandbox.id).processes.list()).some(
          (p) => p.running && p.command.join(' ').includes('sleep 66'),
        ),
      { intervalMs: 50 },
    ).catch(() => assert.fail('the command still runs after the abort'));
    await rt.sandboxes.delete(sandbox.id);
  });
});
