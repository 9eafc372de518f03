import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { type Dashboard, startDashboard } from './dashboard-fixture.ts';

async function openKeys(page: Page) {
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: 'API keys' })
    .click();
  await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
}

describe('dashboard: API keys (Chromium, real server)', () => {
  let d: Dashboard;
  before(async () => {
    d = await startDashboard();
  });
  after(async () => {
    await d?.[Symbol.asyncDispose]();
  });

  it('creates a scoped key shown once with a copy button; signed in with it, a page it lacks the scope for is forbidden; revoking it asks first and ends its session', async () => {
    const page = await d.signedIn();
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await openKeys(page);
    await page.getByRole('region', { name: 'No API keys yet' }).waitFor();

    // A key for the sandboxes only.
    await page.getByLabel('Name').fill('sandbox robot');
    await page.getByRole('checkbox', { name: 'run' }).uncheck();
    await page.getByRole('checkbox', { name: 'sandboxes' }).check();
    await page.getByRole('button', { name: 'Create key' }).click();

    const secret = page.getByRole('textbox', { name: 'New API key' });
    await secret.waitFor();
    const key = await secret.inputValue();
    assert.match(key, /^rtk_/);
    await page.getByRole('button', { name: 'Copy the new api key' }).click();
    await page.getByRole('status').filter({ hasText: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);

    const row = page.getByRole('row', { name: /sandbox robot/ });
    await row.waitFor();
    const listed = (await d.rt.apiKeys.list()).data.find((k) => k.name === 'sandbox robot');
    assert.deepEqual(listed?.scopes, ['sandboxes']);
    assert.ok(key.startsWith(listed?.prefix ?? '-'));
    assert.match(
      (await row.textContent()) ?? '',
      new RegExp(`${listed?.prefix}.*sandboxes.*active`),
    );

    // Shown once: gone from the page after Done.
    await page.getByRole('button', { name: 'Done' }).click();
    assert.equal(await secret.count(), 0);
    assert.ok(!(await page.content()).includes(key), 'the key is no longer in the page');

    // Signed in with the new key: no admin pages in the navigation, and /keys is forbidden.
    const robot = await d.signedIn(key);
    const nav = robot.getByRole('navigation', { name: 'Main' });
    assert.ok(await nav.getByRole('link', { name: 'Sandboxes' }).isVisible());
    assert.equal(await nav.getByRole('link', { name: 'API keys' }).count(), 0);
    await robot.goto('/keys');
    const forbidden = robot.getByRole('alert');
    await forbidden.waitFor();
    assert.match((await forbidden.textContent()) ?? '', /Forbidden:.*lacks the admin scope/);
    await robot.goto('/webhooks');
    await robot.getByRole('alert').filter({ hasText: 'lacks the admin scope' }).waitFor();

    // Revoke asks first: Escape and Cancel keep the key.
    const revoke = page.getByRole('button', { name: 'Revoke sandbox robot' });
    await revoke.click();
    const dialog = page.getByRole('dialog', { name: 'Revoke "sandbox robot"?' });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await revoke.click();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal((await d.rt.apiKeys.list()).data[0]?.revokedAt, null);

    // By keyboard: the dialog opens on Cancel (the safe choice); Tab reaches Revoke key.
    await revoke.focus();
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    assert.equal(
      await page.evaluate(() => document.activeElement?.textContent),
      'Cancel',
      'focus starts on Cancel',
    );
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    await row.getByText('revoked').waitFor();
    assert.equal(await revoke.count(), 0, 'a revoked key has no revoke button');
    assert.notEqual((await d.rt.apiKeys.list()).data[0]?.revokedAt, null);

    // Its browser session ends with it.
    await robot.reload();
    await robot.getByLabel('API key').waitFor();
  });

  it('restricts a key to a deployment, which holds only the run scope', async () => {
    await d.deployScriptedAgent('support-bot');
    const page = await d.signedIn();
    await openKeys(page);
    await page.getByLabel('Name').fill('web app');
    await page.getByRole('checkbox', { name: 'support-bot' }).check();
    assert.ok(await page.getByRole('checkbox', { name: 'run' }).isChecked());
    assert.ok(await page.getByRole('checkbox', { name: 'deploy' }).isDisabled());
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('textbox', { name: 'New API key' }).waitFor();
    const row = page.getByRole('row', { name: /web app/ });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /run.*support-bot.*active/);
    const listed = (await d.rt.apiKeys.list()).data.find((k) => k.name === 'web app');
    assert.deepEqual(listed?.deployments, ['support-bot']);
    assert.deepEqual(listed?.scopes, ['run']);

    await d.screenshot(page, 'keys-light');
    const dark = await d.signedIn(undefined, { colorScheme: 'dark' });
    await openKeys(dark);
    await dark.getByRole('row', { name: /web app/ }).waitFor();
    await d.screenshot(dark, 'keys-dark');
  });
});
