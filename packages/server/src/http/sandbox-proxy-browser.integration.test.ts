import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useTestEngine, waitFor } from '@runtools/sandbox/testing';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { type Database, openDatabase } from '../db/database.ts';
import { startTestServer, type TestServer } from '../testing/test-server.ts';

/**
 * A sandbox web app that reports what its pages can see: `/page` and `/next` are HTML whose
 * script sends `location.href` and `document.referrer` to `/report`; every request line and its
 * headers are appended to /tmp/requests.log.
 */
const app = `
import json, socket, sys, threading
lock = threading.Lock()
PAGE = '''<!doctype html><html><body><a id="next" href="next">next</a><img src="asset.png">
<script>
fetch('report?' + new URLSearchParams({href: location.href, referrer: document.referrer}))
  .then(() => { document.title = 'reported'; });
</script></body></html>'''
def serve(conn):
    data = b''
    while b'\\r\\n\\r\\n' not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return conn.close()
        data += chunk
    head = data.split(b'\\r\\n\\r\\n', 1)[0].decode('latin-1')
    with lock:
        with open('/tmp/requests.log', 'a') as f:
            f.write(head + '\\n\\n')
    path = head.split(' ')[1]
    html = path.split('?')[0].endswith(('/page', '/next'))
    body = PAGE.encode() if html else b'ok'
    kind = 'text/html' if html else 'text/plain'
    conn.sendall(('HTTP/1.1 200 OK\\r\\nContent-Type: %s\\r\\nContent-Length: %d\\r\\n'
                  'Connection: close\\r\\n\\r\\n' % (kind, len(body))).encode() + body)
    conn.close()
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('0.0.0.0', int(sys.argv[1])))
server.listen(64)
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
`;

const chromiumPath = process.env.RUNTOOLS_CHROMIUM ?? '/usr/bin/chromium';

describe('sandbox port proxy in a real browser: ?token= never reaches the page', () => {
  const t = useTestEngine('sbx-browser');
  let server: TestServer;
  let database: Database;
  let browser: Browser;
  /** One browser profile: the grant cookie of a visit stays for the next page. */
  let context: BrowserContext;
  let dir: string;
  let id: string;
  let key: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'runtools-sbx-browser-'));
    database = await openDatabase({ kind: 'sqlite', dataDir: dir });
    server = await startTestServer(database, { engine: t.engine, domain: 'localhost' });
    key = (await server.store.apiKeys.create({ name: 'browser', scopes: ['sandboxes'] })).key;
    const sandbox = await t.engine.create({ template: 'debian-13' });
    id = sandbox.id;
    await sandbox.files.write('/srv/app.py', app);
    await sandbox.exec('python3 /srv/app.py 8000', { background: true });
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
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      // Root in a CI container: Chromium's own sandbox needs a user namespace setup we skip.
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
    context = await browser.newContext();
  });

  after(async () => {
    await browser?.close();
    await server?.[Symbol.asyncDispose]();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Opens `url`, follows the page's link, and returns what the pages saw (their URL and
   * `document.referrer`, read in the page) and what the sandbox's server recorded. With
   * `reports`, waits for each page's script to report to the server too.
   */
  async function visit(
    url: string,
    reports: boolean,
  ): Promise<{ finalUrl: string; seen: string[]; log: string }> {
    const sandbox = t.engine.get(id);
    await sandbox.files.write('/tmp/requests.log', '');
    const page = await context.newPage();
    const seen: string[] = [];
    const look = async () => {
      if (reports)
        await page.waitForFunction("document.title === 'reported'", undefined, { timeout: 15_000 });
      seen.push(String(await page.evaluate('location.href + " " + document.referrer')));
    };
    try {
      await page.goto(url, { waitUntil: 'load' });
      await look();
      const finalUrl = page.url();
      await page.evaluate("document.title = ''");
      await Promise.all([page.waitForURL(/\/next/), page.click('#next')]);
      await look();
      const log = new TextDecoder().decode(await sandbox.files.read('/tmp/requests.log'));
      return { finalUrl, seen, log };
    } finally {
      await page.close();
    }
  }

  function assertNoKey(where: string, text: string): void {
    assert.ok(!text.includes(key), `${where} contains the API key:\n${text}`);
    assert.ok(!text.includes(encodeURIComponent(key)), `${where} contains the API key`);
    assert.ok(!/[?&]token=/.test(text), `${where} contains a token parameter:\n${text}`);
  }

  it('host-name mode ({port}-{id}.localhost): location, referrer and Referer carry no key', async () => {
    const port = new URL(server.url).port;
    const origin = `http://8000-${id}.localhost:${port}`;
    const { finalUrl, seen, log } = await visit(`${origin}/page?a=1&token=${key}`, true);
    assert.equal(finalUrl, `${origin}/page?a=1`);
    assertNoKey('location and document.referrer', seen.join('\n'));
    assert.equal(seen[1], `${origin}/next ${origin}/page?a=1`);
    assertNoKey("the sandbox server's requests (paths, Referer, Cookie)", log);
    // The page did load and report, and its link was followed with a Referer.
    assert.match(log, /GET \/report\?href=/);
    assert.match(log, /GET \/next/);
    assert.match(log, /[Rr]eferer: http:\/\/8000-/);
  });

  it('path mode: the same, and the page runs in an opaque origin', async () => {
    const base = `${server.url}/v1/sandboxes/${id}/ports/8000`;
    // The page is sandboxed (an opaque origin): the requests its own scripts make are
    // cross-site and carry no grant cookie, so it cannot report; navigations still work.
    const { finalUrl, seen, log } = await visit(
      `${base}/page?token=${encodeURIComponent(key)}`,
      false,
    );
    assert.equal(finalUrl, `${base}/page`);
    assertNoKey('location and document.referrer', seen.join('\n'));
    assertNoKey("the sandbox server's requests", log);
    assert.match(log, /GET \/page /);
    assert.match(log, /GET \/next /);

    const page = await context.newPage();
    try {
      await page.goto(`${base}/page`, { waitUntil: 'load' });
      const origin = await page.evaluate('window.origin');
      assert.equal(origin, 'null', "a sandbox page does not run in the API's origin");
      // Page code, run in the browser (this file's lib has no DOM types).
      const storage = await page.evaluate(
        '(() => { try { return String(localStorage.length); } catch (e) { return e.name; } })()',
      );
      assert.equal(storage, 'SecurityError');
    } finally {
      await page.close();
    }
  });
});
