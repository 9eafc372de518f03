import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useTestEngine, waitFor } from '@runtools/sandbox/testing';
import { type Database, openDatabase } from '../db/database.ts';
import { startTestServer, type TestServer, testBootstrapKey } from '../testing/test-server.ts';

/**
 * Answers every request with what it received as JSON, and a WebSocket handshake with 101 and then
 * an echo of every byte. Raw sockets: debian-13's python3-minimal has no http.server.
 */
const echoServer = `
import base64, hashlib, json, socket, sys, threading
released = threading.Event()
def serve(conn):
    data = b''
    while b'\\r\\n\\r\\n' not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return conn.close()
        data += chunk
    head, body = data.split(b'\\r\\n\\r\\n', 1)
    lines = head.decode('latin-1').split('\\r\\n')
    method, path, _ = lines[0].split(' ', 2)
    headers = {}
    for line in lines[1:]:
        name, value = line.split(':', 1)
        headers[name.strip().lower()] = value.strip()
    if headers.get('upgrade', '').lower() == 'websocket':
        key = headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
        accept = base64.b64encode(hashlib.sha1(key.encode()).digest()).decode()
        conn.sendall(('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\n'
                      'Connection: Upgrade\\r\\nSec-WebSocket-Accept: ' + accept + '\\r\\n\\r\\n').encode())
        if body:
            conn.sendall(body)
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            conn.sendall(chunk)
        return conn.close()
    if path == '/release':
        released.set()
    if path == '/slow':
        conn.sendall(b'HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\nConnection: close\\r\\n\\r\\n'
                     b'5\\r\\nfirst\\r\\n')
        released.wait(30)
        released.clear()
        conn.sendall(b'6\\r\\nsecond\\r\\n0\\r\\n\\r\\n')
        return conn.close()
    n = int(headers.get('content-length', '0'))
    while len(body) < n:
        body += conn.recv(65536)
    out = json.dumps({'method': method, 'path': path, 'body': body.decode('latin-1'),
                      'headers': headers}).encode()
    conn.sendall(('HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\n'
                  'Set-Cookie: a=1; Path=/\\r\\nSet-Cookie: b=2; Path=/\\r\\n'
                  'Service-Worker-Allowed: /\\r\\n'
                  'Connection: close\\r\\nContent-Length: %d\\r\\n\\r\\n' % len(out)).encode() + out)
    conn.close()
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('0.0.0.0', int(sys.argv[1])))
server.listen(64)
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
`;

interface Echo {
  method: string;
  path: string;
  body: string;
  headers: Record<string, string>;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** A request with node:http, which (unlike fetch) lets the test choose the Host header. */
function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, base), { method, headers }, (res) => {
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
    });
    req.on('error', reject);
    req.end(body);
  });
}

const auth = { authorization: `Bearer ${testBootstrapKey}` };
const domain = 'sbx.example.test';

describe('sandbox port proxy', () => {
  const t = useTestEngine('sbx-proxy');
  let server: TestServer;
  let database: Database;
  let dir: string;
  let id: string;
  let portPath: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'runtools-sbx-proxy-'));
    database = await openDatabase({ kind: 'sqlite', dataDir: dir });
    server = await startTestServer(database, { engine: t.engine, domain });
    const sandbox = await t.engine.create({ template: 'debian-13' });
    id = sandbox.id;
    portPath = `/v1/sandboxes/${id}/ports/8000`;
    await sandbox.files.write('/srv/echo.py', echoServer);
    await sandbox.exec('python3 /srv/echo.py 8000', { background: true });
    await waitFor(
      async () =>
        (
          await sandbox.exec([
            'python3',
            '-c',
            'import socket; socket.create_connection(("127.0.0.1", 8000), 1)',
          ])
        ).exitCode === 0,
      { intervalMs: 100 },
    );
  });

  after(async () => {
    await server?.[Symbol.asyncDispose]();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('proxies a request by path, keeping the rest of the path and the query', async () => {
    const r = await send(server.url, 'GET', `${portPath}/some/page.html?a=1&b=x%20y`, {
      ...auth,
      cookie: 'app=yes',
    });
    assert.equal(r.status, 200, r.text);
    const echo = JSON.parse(r.text) as Echo;
    assert.equal(echo.path, '/some/page.html?a=1&b=x%20y');
    assert.equal(echo.headers.authorization, undefined, 'the API key must not reach the sandbox');
    assert.equal(echo.headers.cookie, 'app=yes');
    assert.equal(echo.headers.host, 'localhost:8000');
    assert.deepEqual(r.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
    // Path mode shares the API's origin: the page gets an opaque origin and no service worker
    // scope beyond its own path.
    assert.equal(
      r.headers['content-security-policy'],
      'sandbox allow-scripts allow-forms allow-popups',
    );
    assert.equal(r.headers['service-worker-allowed'], undefined);
  });

  it('streams the response as it comes, without waiting for its end', async () => {
    const response = await fetch(new URL(`${portPath}/slow`, server.url), { headers: auth });
    assert.equal(response.status, 200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), 'first');
    // The sandbox's server finishes only once this second request arrives.
    await send(server.url, 'GET', `${portPath}/release`, auth);
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    assert.equal(rest, 'second');
  });

  it('forwards request bodies', async () => {
    const r = await send(
      server.url,
      'POST',
      `${portPath}/submit`,
      { ...auth, 'content-type': 'text/plain' },
      'payload \u00e9',
    );
    const echo = JSON.parse(r.text) as Echo;
    assert.equal(echo.method, 'POST');
    assert.equal(Buffer.from(echo.body, 'latin1').toString('utf8'), 'payload \u00e9');
  });

  it('trades ?token= for an HttpOnly grant cookie and a 303 to the URL without it', async () => {
    const first = await send(
      server.url,
      'GET',
      `${portPath}/index.html?x=1&token=${encodeURIComponent(testBootstrapKey)}&y=2`,
    );
    assert.equal(first.status, 303, first.text);
    assert.equal(first.headers.location, `${portPath}/index.html?x=1&y=2`);
    assert.equal(first.headers['referrer-policy'], 'no-referrer');
    const cookie = (first.headers['set-cookie'] ?? []).find((c) => c.startsWith('runtools_token='));
    assert.ok(cookie, String(first.headers['set-cookie']));
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, new RegExp(`Path=${portPath}(;|$)`));
    const page = await send(server.url, 'GET', first.headers.location as string, {
      cookie: cookie.split(';')[0] as string,
    });
    assert.equal(page.status, 200, page.text);
    assert.equal((JSON.parse(page.text) as Echo).path, '/index.html?x=1&y=2');

    const asset = await send(server.url, 'GET', `${portPath}/app.js`, {
      cookie: `other=1; ${cookie.split(';')[0]}`,
      referer: `http://example.test${portPath}/index.html?x=1&token=${testBootstrapKey}#top`,
    });
    assert.equal(asset.status, 200, asset.text);
    const echo = JSON.parse(asset.text) as Echo;
    assert.equal(echo.headers.cookie, 'other=1');
    assert.equal(echo.headers.referer, `http://example.test${portPath}/index.html?x=1#top`);

    // The cookie is a grant for this port, not the key: it names no key, opens no other port,
    // and the key itself is no cookie.
    assert.ok(
      !decodeURIComponent(cookie).includes(testBootstrapKey),
      'the key is not in the cookie',
    );
    const otherPort = portPath.replace(/\/ports\/\d+$/, '/ports/9');
    const elsewhere = await send(server.url, 'GET', `${otherPort}/`, {
      cookie: cookie.split(';')[0] as string,
    });
    assert.equal(elsewhere.status, 401);
    const rawKey = await send(server.url, 'GET', `${portPath}/`, {
      cookie: `runtools_token=${encodeURIComponent(testBootstrapKey)}`,
    });
    assert.equal(rawKey.status, 401);
  });

  it('answers 401 without a valid key', async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer rtk_wrong' },
      { cookie: 'runtools_token=x' },
    ];
    for (const headers of attempts) {
      const r = await send(server.url, 'GET', `${portPath}/`, headers);
      assert.equal(r.status, 401);
      assert.equal((JSON.parse(r.text) as { error: { code: string } }).error.code, 'unauthorized');
    }
    const r = await send(server.url, 'GET', `${portPath}/?token=wrong`);
    assert.equal(r.status, 401);
  });

  it('redirects the bare port path to its directory', async () => {
    const r = await send(server.url, 'GET', `${portPath}?q=1`, auth);
    assert.equal(r.status, 308);
    assert.equal(r.headers.location, `${portPath}/?q=1`);
  });

  it('answers 502 port_unreachable when nothing listens, 404 for an unknown sandbox, 400 for a bad port', async () => {
    const closed = await send(server.url, 'GET', `/v1/sandboxes/${id}/ports/8001/`, auth);
    assert.equal(closed.status, 502);
    assert.equal(
      (JSON.parse(closed.text) as { error: { code: string } }).error.code,
      'port_unreachable',
    );
    const unknown = await send(
      server.url,
      'GET',
      '/v1/sandboxes/sbx_0000000000000000/ports/8000/',
      auth,
    );
    assert.equal(unknown.status, 404);
    for (const port of ['abc', '0', '70000']) {
      const bad = await send(server.url, 'GET', `/v1/sandboxes/${id}/ports/${port}/`, auth);
      assert.equal(bad.status, 400, port);
    }
  });

  it('proxies every path of {port}-{id}.{domain}', async () => {
    const host = `8000-${id}.${domain}`;
    const first = await send(server.url, 'GET', `/health?token=${testBootstrapKey}&z=9`, {
      host: `${host}:1234`,
    });
    assert.equal(first.status, 303, first.text);
    assert.equal(first.headers.location, '/health?z=9');
    const cookie = (first.headers['set-cookie'] ?? []).find((c) => c.startsWith('runtools_token='));
    assert.match(cookie ?? '', /Path=\/(;|$)/);
    assert.doesNotMatch(cookie ?? '', /Domain=/i, 'host-only: the cookie reaches this port only');
    const page = await send(server.url, 'GET', '/health?z=9', {
      host: `${host}:1234`,
      cookie: (cookie ?? '').split(';')[0] as string,
    });
    const echo = JSON.parse(page.text) as Echo;
    assert.equal(echo.path, '/health?z=9');
    assert.equal(echo.headers['x-forwarded-host'], `${host}:1234`);
    // Its own origin: no sandboxing header needed, the page's headers pass as they are.
    assert.equal(page.headers['content-security-policy'], undefined);
    assert.equal(page.headers['service-worker-allowed'], '/');
    const api = await send(server.url, 'GET', '/v1/sandboxes', {
      host,
      cookie: (cookie ?? '').split(';')[0] as string,
    });
    assert.equal((JSON.parse(api.text) as Echo).path, '/v1/sandboxes');
    const anonymous = await send(server.url, 'GET', '/', { host });
    assert.equal(anonymous.status, 401);
    // Other hosts are the API's.
    const health = await send(server.url, 'GET', '/health', { host: `other.${domain}` });
    assert.equal(health.status, 200);
    assert.notEqual((JSON.parse(health.text) as Partial<Echo>).path, '/health');
  });

  it('resumes a paused sandbox on the first proxied request', async () => {
    await t.engine.get(id).pause();
    assert.equal(t.engine.get(id).state, 'paused');
    const r = await send(server.url, 'GET', `${portPath}/after-pause`, auth);
    assert.equal(r.status, 200, r.text);
    assert.equal((JSON.parse(r.text) as Echo).path, '/after-pause');
    assert.equal(t.engine.get(id).state, 'running');
  });

  it('relays a WebSocket handshake and the bytes after it', async () => {
    const url = new URL(server.url);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    try {
      const key = randomBytes(16).toString('base64');
      socket.write(
        `GET ${portPath}/ws?token=${testBootstrapKey} HTTP/1.1\r\nHost: ${url.host}\r\n` +
          `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
          'Sec-WebSocket-Version: 13\r\n\r\n',
      );
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
      });
      await waitFor(() => received.includes('\r\n\r\n'));
      assert.match(received, /^HTTP\/1\.1 101 /);
      const accept = createHash('sha1')
        .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      assert.match(
        received,
        new RegExp(`Sec-WebSocket-Accept: ${accept.replace(/[+/]/g, '\\$&')}`),
      );
      const headEnd = received.indexOf('\r\n\r\n') + 4;
      socket.write('hello through the tunnel');
      await waitFor(() => received.slice(headEnd) === 'hello through the tunnel');
    } finally {
      socket.destroy();
    }
    const denied = await new Promise<string>((resolve, reject) => {
      const s = connect(Number(url.port), url.hostname, () => {
        s.write(
          `GET ${portPath}/ws HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\n` +
            'Connection: Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
      });
      let text = '';
      s.on('data', (c: Buffer) => {
        text += c.toString();
      });
      s.on('close', () => resolve(text));
      s.on('error', reject);
    });
    assert.match(denied, /^HTTP\/1\.1 401 /);
  });

  it('revoking a key closes its tunnels within a second and ends its grant cookies', async () => {
    const { apiKey, key } = await server.store.apiKeys.create({
      name: 'tunnel',
      scopes: ['sandboxes'],
    });
    const grant = await send(server.url, 'GET', `${portPath}/page?token=${key}`);
    assert.equal(grant.status, 303);
    const cookie = (grant.headers['set-cookie']?.[0] ?? '').split(';')[0] as string;
    assert.equal((await send(server.url, 'GET', `${portPath}/page`, { cookie })).status, 200);

    const url = new URL(server.url);
    const socket = connect(Number(url.port), url.hostname);
    const closed = new Promise<number>((resolve) =>
      socket.once('close', () => resolve(Date.now())),
    );
    socket.on('error', () => {});
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    socket.write(
      `GET ${portPath}/ws HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${key}\r\n` +
        'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: eA==\r\n' +
        'Sec-WebSocket-Version: 13\r\n\r\n',
    );
    await waitFor(() => received.includes('\r\n\r\n'));
    assert.match(received, /^HTTP\/1\.1 101 /);

    const revokedAt = Date.now();
    const revoke = await send(server.url, 'DELETE', `/v1/api-keys/${apiKey.id}`, auth);
    assert.equal(revoke.status, 200, revoke.text);
    const closedAt = await closed;
    assert.ok(closedAt - revokedAt < 1000, `tunnel closed after ${closedAt - revokedAt} ms`);
    assert.equal((await send(server.url, 'GET', `${portPath}/page`, { cookie })).status, 401);
  });

  it('needs the "sandboxes" scope', async () => {
    const { key } = await server.store.apiKeys.create({ name: 'runs only', scopes: ['run'] });
    const denied = await send(server.url, 'GET', `${portPath}/x`, {
      authorization: `Bearer ${key}`,
    });
    assert.equal(denied.status, 403);
    assert.equal(
      (JSON.parse(denied.text) as { error: { code: string } }).error.code,
      'insufficient_scope',
    );
    const viaToken = await send(server.url, 'GET', `${portPath}/x?token=${key}`);
    assert.equal(viaToken.status, 403, 'no grant cookie for a key without the scope');
    assert.equal(viaToken.headers['set-cookie'], undefined);
  });

  it('counts proxied requests against the rate limit and limits resumes per sandbox', async () => {
    await using limited = await startTestServer(database, {
      engine: t.engine,
      rateLimit: { burst: 3, perSecond: 0.001 },
      sandboxResumeLimit: { burst: 1, perSecond: 0.001 },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await send(limited.url, 'GET', `${portPath}/n${i}`, auth)).status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429]);

    await using resumes = await startTestServer(database, {
      engine: t.engine,
      sandboxResumeLimit: { burst: 1, perSecond: 0.001 },
    });
    await t.engine.get(id).pause();
    assert.equal((await send(resumes.url, 'GET', `${portPath}/wake`, auth)).status, 200);
    await t.engine.get(id).pause();
    const again = await send(resumes.url, 'GET', `${portPath}/wake`, auth);
    assert.equal(again.status, 429, again.text);
    assert.ok(Number(again.headers['retry-after']) >= 1);
    assert.equal(t.engine.get(id).state, 'paused', 'the limit was hit before resuming');
    await t.engine.get(id).resume();
  });
});
