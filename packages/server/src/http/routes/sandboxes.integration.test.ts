import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useTestEngine, waitFor } from '@runtools/sandbox/testing';
import { type Database, openDatabase } from '../../db/database.ts';
import { startTestServer, type TestServer, testBootstrapKey } from '../../testing/test-server.ts';

interface SandboxBody {
  id: string;
  state: string;
  template: string;
  metadata: Record<string, string>;
  timeoutMs: number | null;
  expiresAt: string | null;
  resources: { cpu: number; memoryMiB: number };
}

interface ErrorBody {
  error: { code: string; message: string };
}

const auth = { authorization: `Bearer ${testBootstrapKey}` };

/** Server-Sent Events of a finished response, as `{ event, data }` with data parsed as JSON. */
function parseSse(text: string): Array<{ event: string; data: unknown }> {
  return text
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      let event = 'message';
      const data: string[] = [];
      for (const line of frame.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      return { event, data: JSON.parse(data.join('\n')) };
    });
}

async function withDatabase(): Promise<{ database: Database; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'runtools-sbx-api-'));
  return { database: await openDatabase({ kind: 'sqlite', dataDir: dir }), dir };
}

describe('/v1/sandboxes', () => {
  const t = useTestEngine('sbx-api');
  let server: TestServer;
  let database: Database;
  let dir: string;
  let id: string;

  before(async () => {
    ({ database, dir } = await withDatabase());
    server = await startTestServer(database, { engine: t.engine });
  });

  after(async () => {
    await server?.[Symbol.asyncDispose]();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a sandbox from a template and gets it by id', async () => {
    const created = await server.request('POST', '/v1/sandboxes', {
      body: {
        template: 'debian-13',
        timeoutMs: 600_000,
        env: { GREETING: 'hello' },
        metadata: { owner: 'tests' },
        resources: { memoryMiB: 256 },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const body = created.body as SandboxBody;
    assert.match(body.id, /^sbx_/);
    assert.equal(body.state, 'running');
    assert.equal(body.template, 'debian-13');
    assert.deepEqual(body.metadata, { owner: 'tests' });
    assert.equal(body.timeoutMs, 600_000);
    assert.ok(body.expiresAt !== null && Date.parse(body.expiresAt) > Date.now());
    assert.equal(body.resources.memoryMiB, 256);
    id = body.id;

    const got = await server.request('GET', `/v1/sandboxes/${id}`);
    assert.equal(got.status, 200);
    assert.equal((got.body as SandboxBody).id, id);
    assert.equal((got.body as SandboxBody).state, 'running');
  });

  it('lists sandboxes a page at a time', async () => {
    const second = await server.request('POST', '/v1/sandboxes', {
      body: { template: 'debian-13' },
    });
    assert.equal(second.status, 201);
    const secondId = (second.body as SandboxBody).id;
    const first = await server.request('GET', '/v1/sandboxes?limit=1');
    assert.equal(first.status, 200);
    const page = first.body as { data: SandboxBody[]; nextCursor: string | null };
    assert.deepEqual(
      page.data.map((s) => s.id),
      [id],
    );
    assert.ok(page.nextCursor !== null);
    const next = await server.request(
      'GET',
      `/v1/sandboxes?limit=1&cursor=${encodeURIComponent(page.nextCursor)}`,
    );
    const nextPage = next.body as { data: SandboxBody[]; nextCursor: string | null };
    assert.deepEqual(
      nextPage.data.map((s) => s.id),
      [secondId],
    );
    assert.equal(nextPage.nextCursor, null);
    const bad = await server.request('GET', '/v1/sandboxes?cursor=nonsense');
    assert.equal(bad.status, 400);
    assert.equal(
      (await server.request('DELETE', `/v1/sandboxes/${secondId}`)).status,
      204,
      'cleanup',
    );
  });

  it('runs a command and answers with its result', async () => {
    const r = await server.request('POST', `/v1/sandboxes/${id}/exec`, {
      body: {
        command: 'echo "$GREETING $X"; echo oops >&2; pwd; exit 3',
        env: { X: 'there' },
        cwd: '/tmp',
      },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const result = r.body as {
      exitCode: number;
      stdout: string;
      stderr: string;
      timedOut: boolean;
    };
    assert.equal(result.exitCode, 3);
    assert.equal(result.stdout, 'hello there\n/tmp\n');
    assert.equal(result.stderr, 'oops\n');
    assert.equal(result.timedOut, false);

    const timed = await server.request('POST', `/v1/sandboxes/${id}/exec`, {
      body: { command: ['sleep', '30'], timeoutMs: 200 },
    });
    assert.equal((timed.body as { timedOut: boolean }).timedOut, true);

    const background = await server.request('POST', `/v1/sandboxes/${id}/exec`, {
      body: { command: 'sleep 1', background: true },
    });
    assert.equal(background.status, 202);
    assert.equal((background.body as { background: boolean }).background, true);
  });

  it('streams output as Server-Sent Events when asked to', async () => {
    const response = await fetch(new URL(`/v1/sandboxes/${id}/exec`, server.url), {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ command: 'echo one; sleep 0.2; echo two >&2; echo three' }),
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
    const events = parseSse(await response.text());
    const last = events.at(-1);
    assert.equal(last?.event, 'exit');
    assert.equal((last?.data as { exitCode?: number } | undefined)?.exitCode, 0);
    const out = events
      .filter((e) => e.event === 'stdout')
      .map((e) => (e.data as { text: string }).text)
      .join('');
    const err = events
      .filter((e) => e.event === 'stderr')
      .map((e) => (e.data as { text: string }).text)
      .join('');
    assert.equal(out, 'one\nthree\n');
    assert.equal(err, 'two\n');
  });

  it('kills a streamed command when the client disconnects', async () => {
    const aborted = new AbortController();
    const response = await fetch(new URL(`/v1/sandboxes/${id}/exec`, server.url), {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ command: 'echo started; exec sleep 77' }),
      signal: aborted.signal,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    assert.match(new TextDecoder().decode(first.value), /started/);
    aborted.abort();
    await waitUntilGone('sleep 77');
  });

  it('kills a command waited on as JSON when the client disconnects', async () => {
    const aborted = new AbortController();
    const answer = fetch(new URL(`/v1/sandboxes/${id}/exec`, server.url), {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ command: 'exec sleep 78' }),
      signal: aborted.signal,
    });
    answer.catch(() => {});
    const sandbox = t.engine.get(id);
    await waitFor(async () =>
      (await sandbox.processes.list()).some(
        (p) => p.running && p.command.join(' ').includes('sleep 78'),
      ),
    );
    aborted.abort();
    await waitUntilGone('sleep 78');
  });

  async function waitUntilGone(command: string): Promise<void> {
    const sandbox = t.engine.get(id);
    await waitFor(
      async () =>
        !(await sandbox.processes.list()).some(
          (p) => p.running && p.command.join(' ').includes(command),
        ),
      { intervalMs: 50 },
    );
  }

  it('takes file uploads larger than the JSON body limit, streamed to the sandbox', async () => {
    const bytes = new Uint8Array(3 * 1024 * 1024).fill(42);
    const put = await fetch(new URL(`/v1/sandboxes/${id}/files?path=/root/big.bin`, server.url), {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    assert.equal(put.status, 200, await put.clone().text());
    const size = await server.request('POST', `/v1/sandboxes/${id}/exec`, {
      body: { command: 'stat -c %s /root/big.bin && rm /root/big.bin' },
    });
    assert.equal((size.body as { stdout: string }).stdout.trim(), String(bytes.length));
    // A JSON body that large is still refused.
    const json = await server.request('POST', `/v1/sandboxes/${id}/exec`, {
      raw: JSON.stringify({ command: 'x'.repeat(2 * 1024 * 1024) }),
    });
    assert.equal(json.status, 413);
  });

  it('writes and reads files as raw bytes, and lists directories as JSON', async () => {
    const bytes = new Uint8Array(70_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + 3) % 256;
    const put = await fetch(
      new URL(`/v1/sandboxes/${id}/files?path=/root/data/blob.bin`, server.url),
      {
        method: 'PUT',
        headers: { ...auth, 'content-type': 'application/octet-stream' },
        body: bytes,
      },
    );
    assert.equal(put.status, 200, await put.clone().text());
    assert.deepEqual(await put.json(), { path: '/root/data/blob.bin', size: bytes.length });

    const got = await fetch(
      new URL(`/v1/sandboxes/${id}/files?path=/root/data/blob.bin`, server.url),
      {
        headers: auth,
      },
    );
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual(new Uint8Array(await got.arrayBuffer()), bytes);

    const seen = await server.request('POST', `/v1/sandboxes/${id}/exec`, {
      body: { command: 'sha256sum /root/data/blob.bin | cut -c1-64' },
    });
    const { createHash } = await import('node:crypto');
    assert.equal(
      (seen.body as { stdout: string }).stdout.trim(),
      createHash('sha256').update(bytes).digest('hex'),
    );

    const listing = await server.request('GET', `/v1/sandboxes/${id}/files?path=/root/data`);
    assert.equal(listing.status, 200);
    const entries = (
      listing.body as { entries: Array<{ name: string; type: string; size: number }> }
    ).entries;
    assert.deepEqual(
      entries.map((e) => [e.name, e.type, e.size]),
      [['blob.bin', 'file', bytes.length]],
    );

    const removed = await server.request('DELETE', `/v1/sandboxes/${id}/files?path=/root/data`);
    assert.equal(removed.status, 204);
    const gone = await server.request('GET', `/v1/sandboxes/${id}/files?path=/root/data/blob.bin`);
    assert.equal(gone.status, 404);
    assert.equal((gone.body as ErrorBody).error.code, 'file_not_found');
  });

  it('refuses paths that leave the sandbox, and resolves symlinks inside it', async () => {
    for (const path of ['/../etc/passwd', '../../../../etc/hostname', '/.rt/x']) {
      const r = await server.request(
        'GET',
        `/v1/sandboxes/${id}/files?path=${encodeURIComponent(path)}`,
      );
      assert.equal(r.status, 400, path);
      assert.equal((r.body as ErrorBody).error.code, 'invalid_path');
    }
    await server.request('POST', `/v1/sandboxes/${id}/exec`, {
      body: {
        command:
          'echo sandbox-hostname > /etc/hostname; ln -sf ../../../../../etc/hostname /root/escape',
      },
    });
    const read = await fetch(new URL(`/v1/sandboxes/${id}/files?path=/root/escape`, server.url), {
      headers: auth,
    });
    const text = await read.text();
    assert.equal(text, 'sandbox-hostname\n');
    assert.notEqual(text, readFileSync('/etc/hostname', 'utf8'));
    const write = await fetch(new URL(`/v1/sandboxes/${id}/files?path=/root/escape`, server.url), {
      method: 'PUT',
      headers: auth,
      body: 'changed\n',
    });
    assert.equal(write.status, 200);
    assert.notEqual(readFileSync('/etc/hostname', 'utf8'), 'changed\n');
  });

  it('pauses and resumes a sandbox with its processes', async () => {
    await server.request('POST', `/v1/sandboxes/${id}/exec`, {
      body: { command: 'echo kept > /tmp/state' },
    });
    const paused = await server.request('POST', `/v1/sandboxes/${id}/pause`);
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    assert.equal((paused.body as SandboxBody).state, 'paused');
    const exec = await server.request('POST', `/v1/sandboxes/${id}/exec`, {
      body: { command: 'true' },
    });
    assert.equal(exec.status, 409);
    assert.equal((exec.body as ErrorBody).error.code, 'sandbox_state');
    const again = await server.request('POST', `/v1/sandboxes/${id}/pause`);
    assert.equal(again.status, 409);
    const resumed = await server.request('POST', `/v1/sandboxes/${id}/resume`);
    assert.equal(resumed.status, 200);
    assert.equal((resumed.body as SandboxBody).state, 'running');
    const r = await server.request('POST', `/v1/sandboxes/${id}/exec`, {
      body: { command: 'cat /tmp/state' },
    });
    assert.equal((r.body as { stdout: string }).stdout, 'kept\n');
  });

  it('gives a sandbox created without timeoutMs a 15 minute timeout; 0 means none', async () => {
    const defaulted = await server.request('POST', '/v1/sandboxes', {
      body: { template: 'debian-13' },
    });
    assert.equal(defaulted.status, 201);
    assert.equal((defaulted.body as SandboxBody).timeoutMs, 15 * 60_000);
    const none = await server.request('POST', '/v1/sandboxes', {
      body: { template: 'debian-13', timeoutMs: 0 },
    });
    assert.equal((none.body as SandboxBody).timeoutMs, null);
    assert.equal((none.body as SandboxBody).expiresAt, null);
    for (const r of [defaulted, none]) {
      await server.request('DELETE', `/v1/sandboxes/${(r.body as SandboxBody).id}`);
    }
  });

  it('changes the timeout', async () => {
    const r = await server.request('PATCH', `/v1/sandboxes/${id}`, { body: { timeoutMs: 0 } });
    assert.equal(r.status, 200);
    assert.equal((r.body as SandboxBody).timeoutMs, null);
    assert.equal((r.body as SandboxBody).expiresAt, null);
  });

  it('answers 400 for bad bodies and 404 for unknown sandboxes or templates', async () => {
    const bad: unknown[] = [
      {},
      { template: 'debian-13', timeoutMs: -1 },
      { template: 'debian-13', env: { 'not a name': 'x' } },
      { template: 'debian-13', resources: { cpu: 'lots' } },
      { template: 'debian-13', network: { mode: 'everything' } },
      { template: 'debian-13', surprise: true },
      { template: 'Not A Slug!' },
      [],
    ];
    for (const body of bad) {
      const r = await server.request('POST', '/v1/sandboxes', { body });
      assert.equal(r.status, 400, `${JSON.stringify(body)} → ${JSON.stringify(r.body)}`);
    }
    const malformed = await server.request('POST', '/v1/sandboxes', { raw: '{"template":' });
    assert.equal(malformed.status, 400);
    for (const body of [
      {},
      { command: 42 },
      { command: 'x', timeoutMs: 'soon' },
      { command: [] },
    ]) {
      const r = await server.request('POST', `/v1/sandboxes/${id}/exec`, { body });
      assert.equal(r.status, 400, JSON.stringify(body));
    }
    const missingPath = await server.request('GET', `/v1/sandboxes/${id}/files`);
    assert.equal(missingPath.status, 400);

    const template = await server.request('POST', '/v1/sandboxes', {
      body: { template: 'no-such-template' },
    });
    assert.equal(template.status, 404);
    assert.equal((template.body as ErrorBody).error.code, 'template_not_found');
    const unknown = 'sbx_0000000000000000';
    for (const [method, path] of [
      ['GET', `/v1/sandboxes/${unknown}`],
      ['DELETE', `/v1/sandboxes/${unknown}`],
      ['POST', `/v1/sandboxes/${unknown}/pause`],
      ['POST', `/v1/sandboxes/${unknown}/resume`],
      ['GET', `/v1/sandboxes/${unknown}/files?path=/etc/hostname`],
    ] as const) {
      const r = await server.request(method, path);
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal((r.body as ErrorBody).error.code, 'sandbox_not_found');
    }
    const exec = await server.request('POST', `/v1/sandboxes/${unknown}/exec`, {
      body: { command: 'true' },
    });
    assert.equal(exec.status, 404);
  });

  it('requires an API key', async () => {
    for (const [method, path] of [
      ['GET', '/v1/sandboxes'],
      ['POST', '/v1/sandboxes'],
      ['GET', `/v1/sandboxes/${id}`],
      ['POST', `/v1/sandboxes/${id}/exec`],
      ['GET', `/v1/sandboxes/${id}/files?path=/etc/hostname`],
    ] as const) {
      const r = await server.request(method, path, { key: null });
      assert.equal(r.status, 401, `${method} ${path}`);
      const wrong = await server.request(method, path, { key: 'rtk_wrong' });
      assert.equal(wrong.status, 401, `${method} ${path}`);
    }
  });

  it('deletes a sandbox', async () => {
    const r = await server.request('DELETE', `/v1/sandboxes/${id}`);
    assert.equal(r.status, 204);
    const list = await server.request('GET', '/v1/sandboxes');
    assert.ok(!(list.body as { data: SandboxBody[] }).data.some((s) => s.id === id));
    // Idempotent, like the run controls.
    const again = await server.request('DELETE', `/v1/sandboxes/${id}`);
    assert.equal(again.status, 204);
  });
});

describe('/v1/sandboxes without an engine', () => {
  it('answers 503 sandboxes_unavailable, after validating the body', async () => {
    const { database, dir } = await withDatabase();
    try {
      await using server = await startTestServer(database);
      for (const [method, path, body] of [
        ['POST', '/v1/sandboxes', { template: 'debian-13' }],
        ['GET', '/v1/sandboxes', undefined],
        ['GET', '/v1/sandboxes/sbx_00', undefined],
        ['POST', '/v1/sandboxes/sbx_00/exec', { command: 'true' }],
        ['GET', '/v1/sandboxes/sbx_00/files?path=/x', undefined],
        ['GET', '/v1/sandboxes/sbx_00/ports/8000/', undefined],
      ] as const) {
        const r = await server.request(method, path, { body });
        assert.equal(r.status, 503, `${method} ${path}`);
        assert.equal((r.body as ErrorBody).error.code, 'sandboxes_unavailable');
      }
      const bad = await server.request('POST', '/v1/sandboxes', { body: { template: 5 } });
      assert.equal(bad.status, 400);
    } finally {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
