import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Sandbox } from '@runtools/sandbox';
import { useTestEngine, waitFor } from '@runtools/sandbox/testing';
import type { ListeningPort, PortGrant } from '@runtools/sdk/api';
import { type Database, openDatabase } from '../../db/database.ts';
import { startTestServer, type TestServer } from '../../testing/test-server.ts';

/** Answers every request with its request line (so a test sees what reached the sandbox). */
const lineServer = `
import socket, sys, threading
def serve(conn):
    data = b''
    while b'\\r\\n\\r\\n' not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return conn.close()
        data += chunk
    line = data.split(b'\\r\\n', 1)[0]
    conn.sendall(b'HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nConnection: close\\r\\n'
                 b'Content-Length: %d\\r\\n\\r\\n' % len(line) + line)
    conn.close()
server = socket.socket(socket.AF_INET6 if sys.argv[2] == '::' else socket.AF_INET)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[2], int(sys.argv[1])))
server.listen(16)
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
`;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** A GET with node:http, which (unlike fetch) lets the test choose the Host header. */
function get(url: string, headers: Record<string, string> = {}, via?: string): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      via ?? url,
      {
        method: 'GET',
        path: target.pathname + target.search,
        headers: { host: target.host, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** `name=value` of a Set-Cookie header, for the next request's Cookie. */
function cookieOf(answer: Answer): string {
  const header = answer.headers['set-cookie']?.[0];
  assert.ok(header, 'a cookie is set');
  return header.split(';', 1)[0] as string;
}

describe('sandbox ports API: listening ports and one-time grant links (real sandbox)', () => {
  const t = useTestEngine('sbx-ports-api');
  let server: TestServer;
  let hostServer: TestServer;
  let database: Database;
  let dir: string;
  let sandbox: Sandbox;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'runtools-sbx-ports-'));
    database = await openDatabase({ kind: 'sqlite', dataDir: dir });
    server = await startTestServer(database, { engine: t.engine });
    // The same engine behind a server with a domain: ports get host names of their own.
    hostServer = await startTestServer(database, { engine: t.engine, domain: 'sbx.example.test' });
    sandbox = await t.engine.create({ template: 'debian-13' });
    await sandbox.files.write('/srv/line.py', lineServer);
  });
  after(async () => {
    await hostServer?.[Symbol.asyncDispose]();
    await server?.[Symbol.asyncDispose]();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const listPorts = async (base = server) => {
    const r = await base.request('GET', `/v1/sandboxes/${sandbox.id}/ports`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return (r.body as { data: ListeningPort[] }).data;
  };

  it('lists what listens inside, each port with its URL through the proxy', async () => {
    assert.deepEqual(await listPorts(), [], 'nothing listens in a new sandbox');
    await sandbox.exec('python3 /srv/line.py 8000 0.0.0.0', { background: true });
    await sandbox.exec('python3 /srv/line.py 3000 127.0.0.1', { background: true });
    await sandbox.exec('python3 /srv/line.py 9000 ::', { background: true });
    const ports = await waitFor(async () => {
      const now = await listPorts();
      return now.length === 3 && now;
    });
    const base = `${server.url}/v1/sandboxes/${sandbox.id}/ports`;
    assert.deepEqual(ports, [
      { port: 3000, addresses: ['127.0.0.1'], url: `${base}/3000/` },
      { port: 8000, addresses: ['0.0.0.0'], url: `${base}/8000/` },
      { port: 9000, addresses: ['::'], url: `${base}/9000/` },
    ]);
    const named = await listPorts(hostServer);
    const port = new URL(hostServer.url).port;
    assert.equal(named[0]?.url, `http://3000-${sandbox.id}.sbx.example.test:${port}/`);
  });

  it('mints a link that opens one port once, trading itself for the cookie', async () => {
    const minted = await server.request('POST', `/v1/sandboxes/${sandbox.id}/port-grants`, {
      body: { port: 8000 },
    });
    assert.equal(minted.status, 201, JSON.stringify(minted.body));
    const link = minted.body as PortGrant;
    const url = new URL(link.url);
    assert.equal(url.pathname, `/v1/sandboxes/${sandbox.id}/ports/8000/`);
    const grant = url.searchParams.get('runtoolsGrant');
    assert.ok(grant, 'the link carries its grant');
    assert.ok(!link.url.includes('test-bootstrap-key'), 'and never the key');
    const ttl = Date.parse(link.expiresAt) - Date.now();
    assert.ok(ttl > 0 && ttl <= 60_000, `valid for a minute at most (${ttl} ms)`);

    // Opened: 303 to the same URL without the grant, with the port cookie.
    const opened = await get(`${link.url}&page=2`);
    assert.equal(opened.status, 303, opened.text);
    assert.equal(opened.headers.location, `/v1/sandboxes/${sandbox.id}/ports/8000/?page=2`);
    const cookie = cookieOf(opened);
    assert.match(cookie, /^runtools_token=/);
    const page = await get(`${server.url}${opened.headers.location}`, { cookie });
    assert.equal(page.status, 200, page.text);
    assert.equal(page.text, 'GET /?page=2 HTTP/1.1', 'the grant never reaches the sandbox');
    const other = await get(`${server.url}/v1/sandboxes/${sandbox.id}/ports/3000/`, { cookie });
    assert.equal(other.status, 401, 'the cookie opens that port only');

    // Opened again (a copied URL, the browser's history): refused.
    const again = await get(link.url);
    assert.equal(again.status, 401);
    assert.match(again.text, /expired or was opened already/);
    // A link for one port does not open another.
    const for3000 = await server.request('POST', `/v1/sandboxes/${sandbox.id}/port-grants`, {
      body: { port: 3000 },
    });
    const moved = (for3000.body as PortGrant).url.replace('/ports/3000/', '/ports/8000/');
    assert.equal((await get(moved)).status, 401);
  });

  it('mints links on the port host name when the server has a domain', async () => {
    const minted = await hostServer.request('POST', `/v1/sandboxes/${sandbox.id}/port-grants`, {
      body: { port: 8000 },
    });
    assert.equal(minted.status, 201);
    const link = new URL((minted.body as PortGrant).url);
    assert.equal(link.hostname, `8000-${sandbox.id}.sbx.example.test`);
    assert.equal(link.pathname, '/');
    const opened = await get(link.href, {}, hostServer.url);
    assert.equal(opened.status, 303);
    assert.equal(opened.headers.location, '/');
    assert.match(opened.headers['set-cookie']?.[0] ?? '', /; Path=\/; HttpOnly; SameSite=Lax/);
    const page = await get(`http://${link.host}/`, { cookie: cookieOf(opened) }, hostServer.url);
    assert.equal(page.text, 'GET / HTTP/1.1');
  });

  it('needs the sandboxes scope, checks its input, and 404s an unknown sandbox', async () => {
    const { key } = await server.store.apiKeys.create({ name: 'runner', scopes: ['run'] });
    for (const [method, path] of [
      ['GET', `/v1/sandboxes/${sandbox.id}/ports`],
      ['POST', `/v1/sandboxes/${sandbox.id}/port-grants`],
    ] as const) {
      const r = await server.request(method, path, {
        key,
        ...(method === 'POST' ? { body: { port: 8000 } } : {}),
      });
      assert.equal(r.status, 403, `${method} ${path}`);
    }
    for (const port of [0, 65536, '80']) {
      const r = await server.request('POST', `/v1/sandboxes/${sandbox.id}/port-grants`, {
        body: { port },
      });
      assert.equal(r.status, 400, `port ${port}`);
    }
    const unknown = await server.request('GET', '/v1/sandboxes/sbx_0000000000000000/ports');
    assert.equal(unknown.status, 404);
  });

  it('does not resume a paused sandbox to list its ports', async () => {
    await sandbox.pause();
    const r = await server.request('GET', `/v1/sandboxes/${sandbox.id}/ports`);
    assert.equal(r.status, 409);
    assert.equal((r.body as { error: { code: string } }).error.code, 'sandbox_state');
    assert.equal(sandbox.state, 'paused');
    await sandbox.resume();
    assert.equal((await listPorts()).length, 3, 'the listeners came back with the sandbox');
  });
});
