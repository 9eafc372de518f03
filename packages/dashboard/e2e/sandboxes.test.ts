import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { type Dashboard, startDashboard } from './dashboard-fixture.ts';

/** Polls `check` until it returns a value (not undefined/false); fails after `timeoutMs`. */
async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function text(locator: Locator): Promise<string> {
  return (await locator.textContent()) ?? '';
}

/** The lines xterm.js shows (its DOM renderer draws one element per row). */
async function screenLines(terminal: Locator): Promise<string[]> {
  const rows = await terminal.locator('.xterm-rows > div').allTextContents();
  return rows.map((line) => line.replace(/\u00a0/g, ' ').trimEnd());
}

/** Types a command into the terminal (it must have the focus) and returns the line `match`es. */
async function run(page: Page, terminal: Locator, command: string, match: RegExp) {
  const before = (await screenLines(terminal)).filter((l) => match.test(l)).length;
  await page.keyboard.type(`${command}\n`);
  return until(`the output of ${command}`, async () => {
    const lines = (await screenLines(terminal)).filter((l) => match.test(l));
    return lines.length > before && (lines.at(-1) as string);
  });
}

/** A web server for a sandbox port: answers every request with its request line. */
const lineServer = `
import socket, threading
def serve(conn):
    data = b''
    while b'\\r\\n\\r\\n' not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return conn.close()
        data += chunk
    line = data.split(b'\\r\\n', 1)[0]
    body = b'<!doctype html><title>sandbox app</title><p id="line">' + line + b'</p>'
    conn.sendall(b'HTTP/1.1 200 OK\\r\\nContent-Type: text/html\\r\\nConnection: close\\r\\n'
                 b'Content-Length: %d\\r\\n\\r\\n' % len(body) + body)
    conn.close()
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('0.0.0.0', 8000))
server.listen(16)
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
`;

describe('dashboard: sandboxes (Chromium, real server, real sandboxes)', () => {
  let d: Dashboard;
  before(async () => {
    d = await startDashboard();
  });
  after(async () => {
    await d?.[Symbol.asyncDispose]();
  });

  /** A running sandbox with the line server listening on port 8000. */
  async function sandboxWithApp(): Promise<string> {
    const { id } = await d.rt.sandboxes.create({ template: 'debian-13' });
    await d.rt.sandboxes.files.write(id, '/srv/app.py', lineServer);
    await d.rt.sandboxes.exec(id, { command: 'python3 /srv/app.py', background: true });
    await until('the app listens', async () =>
      (await d.rt.sandboxes.ports.list(id)).some((p) => p.port === 8000),
    );
    return id;
  }

  it('creates, pauses, resumes and deletes a sandbox from the list, showing each state', async () => {
    const page = await d.signedIn();
    page.setDefaultTimeout(60_000);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Sandboxes' })
      .click();
    const empty = page.getByRole('region', { name: 'No sandboxes yet' });
    await empty.waitFor();
    assert.match(await text(empty), /runtools sandbox create/);

    const form = page.getByRole('form', { name: 'New sandbox' });
    await form.getByLabel('Template').selectOption('debian-13');
    await form.getByRole('button', { name: 'Create sandbox' }).click();
    const created = form.getByRole('status').getByRole('link');
    await created.waitFor();
    const id = (await text(created)).trim();
    assert.match(id, /^sbx_[0-9a-f]+$/);
    assert.equal((await d.rt.sandboxes.get(id)).state, 'running');
    assert.equal((await d.rt.sandboxes.get(id)).template, 'debian-13');

    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: id }) });
    const state = row.getByRole('status', { name: `State of ${id}` });
    await state.getByText('running', { exact: true }).waitFor();
    assert.match(await text(row), /debian-13/);
    assert.match(await text(row), /CPU/);

    await row.getByRole('button', { name: `Pause ${id}` }).click();
    await state.getByText('paused', { exact: true }).waitFor();
    assert.equal((await d.rt.sandboxes.get(id)).state, 'paused');
    // A paused sandbox offers Resume, not Pause.
    assert.equal(await row.getByRole('button', { name: `Pause ${id}` }).count(), 0);

    await row.getByRole('button', { name: `Resume ${id}` }).click();
    await state.getByText('running', { exact: true }).waitFor();
    assert.equal((await d.rt.sandboxes.get(id)).state, 'running');

    // Delete asks first; "Keep" withdraws the question.
    await row.getByRole('button', { name: `Delete ${id}` }).click();
    await row.getByRole('button', { name: `Keep ${id}` }).click();
    assert.equal((await d.rt.sandboxes.get(id)).state, 'running');
    await row.getByRole('button', { name: `Delete ${id}` }).click();
    await row.getByRole('button', { name: `Confirm: delete ${id}` }).click();
    await row.waitFor({ state: 'detached' });
    await page.getByRole('region', { name: 'No sandboxes yet' }).waitFor();
    const gone = await d.rt.sandboxes.get(id).then(
      (s) => s.state,
      () => 'not found',
    );
    assert.ok(gone === 'stopped' || gone === 'not found', `deleted, got ${gone}`);
  });

  it('opens a listening port from its link without a key or grant left in any URL', async () => {
    const id = await sandboxWithApp();
    const page = await d.signedIn();
    page.setDefaultTimeout(60_000);
    await page.goto('/sandboxes');
    const link = page.getByRole('link', { name: `Port 8000 of ${id}` });
    const [tab] = await Promise.all([page.context().waitForEvent('page'), link.click()]);
    await tab.waitForURL(/\/ports\/8000\/$/);
    await tab.locator('#line').waitFor();
    assert.equal(tab.url(), `${d.url}/v1/sandboxes/${id}/ports/8000/`);
    // What reached the sandbox: no grant, no key.
    assert.equal(await text(tab.locator('#line')), 'GET / HTTP/1.1');
    const cookies = await page.context().cookies();
    assert.ok(
      cookies.every((c) => !c.value.includes(d.apiKey)),
      'the key is in no cookie',
    );
    // The link the page shows is the dashboard's own, with no credential in it.
    assert.equal(await link.getAttribute('href'), `/sandboxes/${id}/ports/8000`);
    await tab.close();
    await d.rt.sandboxes.delete(id);
  });

  it('types into a terminal, follows the window size, and gets its shell back after a reload and a pause', async () => {
    const { id } = await d.rt.sandboxes.create({ template: 'debian-13' });
    const page = await d.signedIn();
    page.setDefaultTimeout(60_000);
    // Keeps the page's WebSockets within reach, so the test can drop one.
    await page.addInitScript(() => {
      const sockets: WebSocket[] = [];
      Object.assign(window, { testSockets: sockets });
      window.WebSocket = class extends WebSocket {
        constructor(...args: ConstructorParameters<typeof WebSocket>) {
          super(...args);
          sockets.push(this);
        }
      };
    });
    await page.goto(`/sandboxes/${id}`);
    const terminal = page.getByRole('region', { name: 'Terminal' });
    await terminal.getByRole('status').getByText('Connected').waitFor();
    await until('a prompt', async () => (await screenLines(terminal)).some((l) => /[#$]$/.test(l)));
    await terminal.locator('.xterm-screen').click();

    await run(page, terminal, 'echo hi', /^hi$/);
    // Tab belongs to the shell; Shift+Escape takes the keyboard out of the terminal.
    await page.keyboard.press('Shift+Escape');
    assert.equal(await terminal.evaluate((el) => el.contains(document.activeElement)), false);
    const directory = page.getByRole('textbox', { name: 'Directory' });
    assert.ok(await directory.evaluate((el) => el === document.activeElement), 'the next control');
    await terminal.locator('.xterm-screen').click();
    const pid = await run(page, terminal, 'echo "pid=$$"', /^pid=\d+$/);

    const shown = async () => {
      const size = await text(terminal.getByText(/\d+ columns × \d+ rows/));
      return Number(/(\d+) columns/.exec(size)?.[1]);
    };
    const wide = await shown();
    assert.ok(wide > 80, `a 1280 px window gives more than 80 columns (${wide})`);
    assert.equal(
      await run(page, terminal, 'echo "cols=$(tput cols)"', /^cols=\d+$/),
      `cols=${wide}`,
    );

    await page.setViewportSize({ width: 760, height: 700 });
    const narrow = await until('the terminal to refit', async () => {
      const now = await shown();
      return now < wide && now;
    });
    assert.equal(
      await run(page, terminal, 'echo "cols=$(tput cols)"', /^cols=\d+$/),
      `cols=${narrow}`,
      'the shell follows the new width',
    );

    // A dropped connection comes back to the same shell, by itself.
    await page.evaluate(() => {
      const sockets = (window as unknown as { testSockets: WebSocket[] }).testSockets;
      sockets.at(-1)?.close();
    });
    await terminal
      .getByRole('status')
      .getByText(/reconnecting/)
      .waitFor();
    await terminal.getByRole('status').getByText('Connected').waitFor();
    await terminal.locator('.xterm-screen').click();
    assert.equal(await run(page, terminal, 'echo "pid=$$"', /^pid=\d+$/), pid, 'the same shell');
    assert.ok((await screenLines(terminal)).includes('hi'), 'and the screen as it was');

    // A reload reattaches to the same shell (?session=) and the screen comes back.
    await page.reload();
    await terminal.getByRole('status').getByText('Connected').waitFor();
    await until('the screen back', async () => (await screenLines(terminal)).includes('hi'));
    await terminal.locator('.xterm-screen').click();
    assert.equal(await run(page, terminal, 'echo "pid=$$"', /^pid=\d+$/), pid, 'the same shell');

    // Paused, the terminal waits (connecting would resume the sandbox); resumed, it is back.
    await page.getByRole('button', { name: `Pause ${id}` }).click();
    await terminal
      .getByRole('status')
      .getByText(/not running/)
      .waitFor();
    await page
      .getByRole('status', { name: `State of ${id}` })
      .getByText('paused')
      .waitFor();
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal((await d.rt.sandboxes.get(id)).state, 'paused', 'still paused');
    await page.getByRole('button', { name: `Resume ${id}` }).click();
    await terminal.getByRole('status').getByText('Connected').waitFor();
    await until('the screen back', async () => (await screenLines(terminal)).includes('hi'));
    await terminal.locator('.xterm-screen').click();
    assert.equal(await run(page, terminal, 'echo "pid=$$"', /^pid=\d+$/), pid, 'the same shell');

    // The shell exits; a new one starts only when asked.
    await page.keyboard.type('exit 3\n');
    await terminal.getByRole('status').getByText('(exit code 3)').waitFor();
    await terminal.getByRole('button', { name: 'Start a new shell' }).click();
    await terminal.getByRole('status').getByText('Connected').waitFor();
    await terminal.locator('.xterm-screen').click();
    assert.notEqual(await run(page, terminal, 'echo "pid=$$"', /^pid=\d+$/), pid, 'a new shell');
    await d.rt.sandboxes.delete(id);
  });

  it('uploads a file, downloads it back byte for byte, and shows text files', async () => {
    const { id, cwd } = await d.rt.sandboxes.create({ template: 'debian-13' });
    const page = await d.signedIn();
    page.setDefaultTimeout(60_000);
    await page.goto(`/sandboxes/${id}`);
    const files = page.getByRole('region', { name: 'Files' });
    await files
      .getByRole('table', { name: `Contents of ${cwd}` })
      .or(files.getByText(/is empty/))
      .waitFor();

    const bytes = randomBytes(300_000);
    await files.getByLabel(`Upload files to ${cwd}`).setInputFiles({
      name: 'data.bin',
      mimeType: 'application/octet-stream',
      buffer: bytes,
    });
    await files
      .getByRole('status')
      .getByText(/Uploaded data\.bin/)
      .waitFor();
    const path = `${cwd === '/' ? '' : cwd}/data.bin`;
    assert.deepEqual(
      Buffer.from(await d.rt.sandboxes.files.read(id, path)),
      bytes,
      'uploaded as is',
    );

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      files.getByRole('link', { name: 'Download data.bin' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'data.bin');
    assert.deepEqual(await readFile(await download.path()), bytes, 'downloaded as uploaded');

    // Walk to /etc and read a text file; a binary one is not shown as text.
    await files.getByRole('textbox', { name: 'Directory' }).fill('/etc');
    await files.getByRole('button', { name: 'Open', exact: true }).click();
    await files.getByRole('button', { name: 'View os-release' }).click();
    const contents = files.getByRole('region', { name: 'Contents of /etc/os-release' });
    assert.match(await text(contents), /Debian/);
    await files.getByRole('button', { name: 'Open /', exact: true }).click();
    await files.getByRole('button', { name: /^Open directory root$/ }).click();
    await files.getByRole('button', { name: 'View data.bin' }).click();
    await files.getByText('This is a binary file').waitFor();
    await d.rt.sandboxes.delete(id);
  });

  it('shows a forbidden page to a key without the sandboxes scope', async () => {
    const { key } = await d.rt.apiKeys.create({ name: 'runner only', scopes: ['run'] });
    const page = await d.signedIn(key);
    await page.goto('/sandboxes');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await text(alert), /Forbidden/);
    assert.match(await text(alert), /sandboxes/);
    assert.equal(await page.getByRole('button', { name: 'Create sandbox' }).count(), 0);
    await page.goto('/sandboxes/sbx_0123456789abcdef');
    await page
      .getByRole('alert')
      .getByText(/Forbidden/)
      .waitFor();
  });

  it('writes screenshots of both pages, light and dark', async () => {
    const id = await sandboxWithApp();
    await d.rt.sandboxes.files.write(id, '/root/notes.txt', 'Hello from the sandbox.\n');
    for (const colorScheme of ['light', 'dark'] as const) {
      const page = await d.signedIn(undefined, { colorScheme });
      page.setDefaultTimeout(60_000);
      await page.goto('/sandboxes');
      await page.getByRole('link', { name: `Port 8000 of ${id}` }).waitFor();
      await d.screenshot(page, `sandboxes-${colorScheme}`);

      await page.goto(`/sandboxes/${id}`);
      const terminal = page.getByRole('region', { name: 'Terminal' });
      await terminal.getByRole('status').getByText('Connected').waitFor();
      await until('a prompt', async () =>
        (await screenLines(terminal)).some((l) => /[#$]$/.test(l)),
      );
      await terminal.locator('.xterm-screen').click();
      await run(page, terminal, 'ls -la /srv && echo done', /^done$/);
      const files = page.getByRole('region', { name: 'Files' });
      await files.getByRole('button', { name: 'View notes.txt' }).click();
      await files.getByRole('region', { name: 'Contents of /root/notes.txt' }).waitFor();
      await d.screenshot(page, `sandbox-${colorScheme}`);
    }
    await d.rt.sandboxes.delete(id);
  });
});
