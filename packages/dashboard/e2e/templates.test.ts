import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { type Dashboard, startDashboard } from './dashboard-fixture.ts';

async function openTemplates(page: Page) {
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: 'Templates' })
    .click();
  await page.getByRole('heading', { name: 'Templates', level: 1 }).waitFor();
  await page
    .getByRole('row', { name: /debian-13/ })
    .first()
    .waitFor();
}

/** Polls `check` until it holds (a page filled in by a query that is still loading). */
async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the page');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('dashboard: templates and the Template Builder (Chromium, real server)', () => {
  let d: Dashboard;
  // The templates dir is shared by every test run: names of this process only, removed after.
  const built = `rt-e2e-builder-${process.pid}`;
  const failing = `rt-e2e-fail-${process.pid}`;
  before(async () => {
    d = await startDashboard();
  });
  after(async () => {
    for (const slug of [built, failing]) await d?.rt.templates.delete(slug).catch(() => {});
    await d?.[Symbol.asyncDispose]();
  });

  it('lists the system templates and says how to make one', async () => {
    const page = await d.signedIn();
    await openTemplates(page);
    const system = page.getByRole('row', { name: /^debian-13 system/ });
    assert.match((await system.textContent()) ?? '', /debian-13system/);
    await page.getByRole('region', { name: 'No templates of your own yet' }).waitFor();
    await d.screenshot(page, 'templates-light');
    const dark = await d.signedIn(undefined, { colorScheme: 'dark' });
    await openTemplates(dark);
    await d.screenshot(dark, 'templates-dark');
  });

  it('builds a template from the Template Builder: the spec as JSON and as an SDK call, then a progress bar and live log to ready', async () => {
    const page = await d.signedIn();
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await openTemplates(page);
    await page.getByRole('link', { name: 'New template' }).click();
    await page.getByRole('heading', { name: 'Template Builder' }).waitFor();

    // An invalid name is refused before anything is sent.
    await page.getByLabel('Template name').fill('Not OK');
    await page.getByRole('button', { name: 'Build template' }).click();
    await page.getByRole('alert').filter({ hasText: 'Fix the fields marked above' }).waitFor();
    assert.equal(await page.getByLabel('Template name').getAttribute('aria-invalid'), 'true');

    await page.getByLabel('Template name').fill(built);
    assert.equal(await page.getByLabel('Operating system').inputValue(), 'debian-13');
    await page.getByLabel('apt packages').fill('jq');
    await page.getByRole('button', { name: 'Add variable' }).click();
    await page.getByLabel('Name of variable 1').fill('GREETING');
    await page.getByLabel('Value of variable 1').fill('hello from the builder');
    await page.getByRole('checkbox', { name: 'Python' }).check();
    await page.getByRole('checkbox', { name: 'Python' }).uncheck();

    const expected = {
      slug: built,
      os: 'debian-13',
      apt: ['jq'],
      env: { GREETING: 'hello from the builder' },
    };
    const panel = page.getByRole('tabpanel');
    assert.deepEqual(JSON.parse((await panel.textContent()) ?? ''), expected);
    await page.getByRole('tab', { name: 'Spec (JSON)' }).press('ArrowRight');
    assert.equal(
      await page.getByRole('tab', { name: 'SDK snippet' }).getAttribute('aria-selected'),
      'true',
      'arrow keys move between the tabs',
    );
    const snippet = (await panel.textContent()) ?? '';
    assert.ok(
      snippet.includes(
        [
          'await rt.templates.create({',
          `  slug: '${built}',`,
          "  os: 'debian-13',",
          "  apt: ['jq'],",
          "  env: { GREETING: 'hello from the builder' },",
          '});',
          `await rt.templates.waitForBuild('${built}', { onLog: console.log });`,
        ].join('\n'),
      ),
      snippet,
    );
    await page.getByRole('button', { name: 'Copy the SDK snippet' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), snippet);

    await page.getByRole('button', { name: 'Build template' }).click();
    const progress = page.getByRole('progressbar', { name: 'Build progress' });
    await progress.waitFor();
    // Every state the bar goes through, until ready.
    const seen = new Set<string>();
    const deadline = Date.now() + 240_000;
    for (;;) {
      const text = (await progress.getAttribute('aria-valuetext')) ?? '';
      seen.add(text);
      if (text.includes('Ready') || text.includes('Failed') || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const states = [...seen];
    assert.ok(states.includes('100%: Ready: every step done'), states.join('\n'));
    assert.equal(await progress.getAttribute('aria-valuenow'), '100');
    assert.ok(
      states.some((s) => /^\d+%: Step [1-4] of 4: /.test(s)),
      `the bar went through the steps: ${states.join(' | ')}`,
    );
    const log = (await page.getByRole('log', { name: 'Build log' }).textContent()) ?? '';
    assert.match(log, /==> runtools step: apt: install jq/);
    assert.match(log, /ready in/);
    await d.screenshot(page, 'template-builder-light');

    const template = await d.rt.templates.get(built);
    assert.equal(template.status, 'ready');
    assert.deepEqual(template.spec?.apt, ['jq']);
    assert.deepEqual(template.spec?.env, { GREETING: 'hello from the builder' });

    // Its page: ready, the version current and on this server, one build with its log.
    await page.getByRole('link', { name: 'Open the template' }).click();
    await page.getByRole('heading', { name: built, level: 1 }).waitFor();
    const version = page.getByRole('row', { name: new RegExp(template.version ?? '-') });
    await version.getByText('current, on this server').waitFor();
    const builds = page.getByRole('row', { name: new RegExp(template.build?.id ?? '-') });
    await builds.getByText('ready').waitFor();
    await page
      .getByRole('log', { name: 'Build log' })
      .getByText(/runtools step: apt: install jq/)
      .waitFor();
    await d.screenshot(page, 'template-light');

    const dark = await d.signedIn(undefined, { colorScheme: 'dark' });
    await dark.goto(`/templates/new?from=${built}`);
    // Started from the template's spec.
    await dark.getByLabel('apt packages').waitFor();
    await until(async () => (await dark.getByLabel('Template name').inputValue()) === built);
    assert.equal(await dark.getByLabel('apt packages').inputValue(), 'jq');
    assert.equal(
      await dark.getByLabel('Value of variable 1').inputValue(),
      'hello from the builder',
    );
    await d.screenshot(dark, 'template-builder-dark');
  });

  it('shows a Dockerfile template read-only, and a failed build with its step and output', async () => {
    await d.rt.templates.create({
      slug: failing,
      dockerfile: 'FROM debian-13\nRUN echo about to fail && exit 3\n',
    });
    const page = await d.signedIn();
    await page.goto(`/templates/${failing}`);
    await page.getByRole('heading', { name: failing, level: 1 }).waitFor();
    await page.getByText('RUN echo about to fail && exit 3').first().waitFor();
    await page.getByText('shown read-only').waitFor();
    assert.equal(await page.getByRole('link', { name: 'Edit in the Template Builder' }).count(), 0);

    const failure = page.getByRole('region', { name: 'Build failure' });
    await failure.waitFor({ timeout: 180_000 });
    const text = (await failure.textContent()) ?? '';
    assert.match(text, /Failed at step: RUN echo about to fail && exit 3/);
    assert.match(text, /template_build_failed/);
    assert.match(text, /Output of the step[\s\S]*about to fail/);
    const bar = page.getByRole('progressbar', { name: 'Build progress' });
    assert.match(
      (await bar.getAttribute('aria-valuetext')) ?? '',
      /Failed at step \d of \d: "RUN echo about to fail/,
    );

    await d.screenshot(page, 'template-failed-light');

    // Deleting asks first, then the template is gone from the list.
    await page.getByRole('button', { name: 'Delete template' }).click();
    const dialog = page.getByRole('dialog', { name: `Delete template "${failing}"?` });
    await dialog.getByRole('button', { name: 'Delete template' }).click();
    await page.getByRole('heading', { name: 'Templates', level: 1 }).waitFor();
    await page
      .getByRole('row', { name: /debian-13/ })
      .first()
      .waitFor();
    assert.equal(await page.getByRole('row', { name: new RegExp(failing) }).count(), 0);
  });
});
