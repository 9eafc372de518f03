import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Dashboard, startDashboard } from './dashboard-fixture.ts';

describe('dashboard: sign-in (Chromium, real server)', () => {
  let d: Dashboard;
  before(async () => {
    d = await startDashboard();
  });
  after(async () => {
    await d?.[Symbol.asyncDispose]();
  });

  it('signs in with a key, keeps no key in the page, and signs out', async () => {
    const context = await d.browser.newContext({ baseURL: d.url });
    const page = await context.newPage();
    await page.goto('/');
    await page.getByLabel('API key').fill('rtk_wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByRole('alert')
      .getByText(/unknown or revoked/)
      .waitFor();

    await page.getByLabel('API key').fill(d.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'runtoolsSession');
    assert.ok(session?.httpOnly, 'an HttpOnly session cookie');
    assert.equal(session?.sameSite, 'Strict');
    const stored = await page.evaluate(
      () =>
        JSON.stringify({ ...localStorage }) +
        JSON.stringify({ ...sessionStorage }) +
        document.cookie,
    );
    assert.ok(!stored.includes(d.apiKey), 'the key is in no browser storage');

    // A reload keeps the session (the cookie) and asks for it once: the app takes the answer
    // of index.html's preload. Then signing out ends it on the server too.
    const asked: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/v1/sessions/current') asked.push(r.method());
    });
    await page.reload();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    assert.deepEqual(asked, ['GET'], 'one request for the session');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    const replay = await context.request.get(`${d.url}/v1/runtimes`, {
      headers: { cookie: `runtoolsSession=${session?.value}` },
    });
    assert.equal(replay.status(), 401, 'the old cookie no longer works');
    await context.close();
  });

  it('hides what a key may not use', async () => {
    const { key } = await d.rt.apiKeys.create({ name: 'runner', scopes: ['run'] });
    const page = await d.signedIn(key);
    const nav = page.getByRole('navigation', { name: 'Main' });
    assert.ok(await nav.getByRole('link', { name: 'Runs' }).isVisible());
    assert.equal(await nav.getByRole('link', { name: 'API keys' }).count(), 0);
    assert.equal(await nav.getByRole('link', { name: 'Sandboxes' }).count(), 0);
  });
});
