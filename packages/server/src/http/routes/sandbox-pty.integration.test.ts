import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useTestEngine, waitFor } from '@runtools/sandbox/testing';
import type { PtyServerMessage } from '@runtools/sdk';
import WebSocket from 'ws';
import { type Database, openDatabase } from '../../db/database.ts';
import { startTestServer, type TestServer, testBootstrapKey } from '../../testing/test-server.ts';

/** A terminal client: the screen so far, the control messages, and how it closed. */
class Terminal {
  screen = '';
  readonly messages: PtyServerMessage[] = [];
  readonly closed: Promise<number>;
  readonly opened: Promise<void>;
  readonly ws: WebSocket;

  constructor(url: string, key = testBootstrapKey) {
    this.ws = new WebSocket(url, { headers: { authorization: `Bearer ${key}` } });
    this.ws.on('message', (data: Buffer, binary: boolean) => {
      if (binary) this.screen += data.toString();
      else this.messages.push(JSON.parse(data.toString()) as PtyServerMessage);
    });
    this.closed = new Promise((resolve) => this.ws.on('close', (code) => resolve(code)));
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`handshake ${res.statusCode}`), { status: res.statusCode })),
      );
      this.ws.once('error', reject);
    });
  }

  /** Sends keystrokes (as a binary frame) and waits for the output since then to match. */
  async type(keys: string, until: RegExp): Promise<string> {
    const from = this.screen.length;
    this.ws.send(Buffer.from(keys));
    await waitFor(() => until.test(this.screen.slice(from)), { timeoutMs: 15_000, intervalMs: 20 });
    return this.screen.slice(from);
  }

  get pid(): number {
    const session = this.messages.find((m) => m.type === 'session');
    assert.ok(session?.type === 'session', 'the server names the session first');
    return session.pid;
  }
}

describe('WS /v1/sandboxes/{id}/pty (real server, real sandbox)', () => {
  const t = useTestEngine('sbx-pty-api');
  let server: TestServer;
  let database: Database;
  let dir: string;
  let id: string;
  let base: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'runtools-pty-api-'));
    database = await openDatabase({ kind: 'sqlite', dataDir: dir });
    server = await startTestServer(database, { engine: t.engine });
    id = (await t.engine.create({ template: 'debian-13' })).id;
    base = `${server.url.replace(/^http/, 'ws')}/v1/sandboxes/${id}/pty`;
  });
  after(async () => {
    await server?.[Symbol.asyncDispose]();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens a login shell of the asked size, resizes, reconnects, and ends with Ctrl-D', async () => {
    const term = new Terminal(`${base}?rows=33&cols=99`);
    await term.opened;
    await waitFor(() => term.messages.length > 0 && /[#$] $/.test(term.screen), {
      timeoutMs: 15_000,
    });
    const pid = term.pid;
    assert.match(await term.type('stty size; echo $TERM\r', /xterm-256color\r\n/), /33 99\r\n/);
    term.ws.send(JSON.stringify({ type: 'resize', rows: 41, cols: 111 }));
    assert.match(await term.type('stty size\r', /\d+ \d+\r\n/), /41 111\r\n/);
    await term.type('export KEPT=yes\r', /[#$] $/);
    term.ws.close();
    await term.closed;

    // The shell outlived the connection: a reconnect gets the screen back, then the live shell.
    const again = new Terminal(`${base}?session=${pid}`);
    await again.opened;
    await waitFor(() => again.screen.includes('export KEPT=yes'), { timeoutMs: 10_000 });
    assert.match(await again.type('echo $KEPT\r', /yes\r\n/), /yes/);
    // Text frames are control messages; typed text may come as one too.
    again.ws.send(JSON.stringify({ type: 'input', data: 'echo via-json\r' }));
    await waitFor(() => again.screen.includes('via-json\r\n'), { timeoutMs: 10_000 });
    again.ws.send('not json');
    await waitFor(() => again.messages.some((m) => m.type === 'error'), { timeoutMs: 5000 });

    again.ws.send(Buffer.from('\u0004'));
    assert.equal(await again.closed, 1000);
    assert.deepEqual(again.messages.at(-1), { type: 'exit', exitCode: 0 });
  });

  it('resumes a paused sandbox, whose terminal comes back as it was', async () => {
    const term = new Terminal(base);
    await term.opened;
    await waitFor(() => /[#$] $/.test(term.screen), { timeoutMs: 15_000 });
    await term.type('cd /tmp && X=42\r', /[#$] $/);
    const pid = term.pid;
    term.ws.close();
    await term.closed;
    await t.engine.get(id).pause();

    const back = new Terminal(`${base}?session=${pid}`);
    await back.opened;
    assert.equal(t.engine.get(id).state, 'running');
    assert.match(await back.type('echo $PWD $X\r', /\/tmp 42\r\n/), /\/tmp 42/);
    back.ws.send(Buffer.from('exit\r'));
    assert.equal(await back.closed, 1000);
  });

  it('refuses a key without the sandboxes scope, an unknown session and a plain GET', async () => {
    const { key } = await server.store.apiKeys.create({ name: 'runs', scopes: ['run'] });
    await assert.rejects(new Terminal(base, key).opened, { status: 403 });
    await assert.rejects(new Terminal(`${base}?session=999999`).opened, { status: 404 });
    await assert.rejects(new Terminal(`${base}?rows=0`).opened, { status: 400 });
    const plain = await server.request('GET', `/v1/sandboxes/${id}/pty`);
    assert.equal(plain.status, 426);
  });
});
