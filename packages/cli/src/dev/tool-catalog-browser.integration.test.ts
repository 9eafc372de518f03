import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { artifactsDir, type DevBrowser, startDevBrowser } from '../testing/dev-browser-fixture.ts';

const token = 'ghp_catalogTestToken0123456789abcdefABCD';

const agentFile = (endpoint: string) => `import { defineAgent } from '@runtools/sdk';

export default defineAgent({
  slug: 'helper',
  model: { provider: 'custom', endpoint: '${endpoint}', model: 'scripted' },
  systemPrompt: 'You help.',
  tools: ['bash'],
  template: 'debian-13',
});
`;

/** The tool catalog page in a real browser against `runtools dev` (the dashboard must be built). */
describe('the tool catalog in the browser, under runtools dev', () => {
  let d: DevBrowser;
  let root: string;
  let model: DevBrowser['model'];
  let rt: DevBrowser['rt'];

  before(async () => {
    d = await startDevBrowser({ 'agents/helper.ts': agentFile });
    ({ root, model, rt } = d);
  });
  after(async () => {
    await d?.[Symbol.asyncDispose]();
  });

  const open = async (colorScheme: 'light' | 'dark' = 'light'): Promise<Page> => {
    const page = await d.signedIn({ colorScheme });
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Tools' })
      .click();
    await page.getByRole('heading', { name: 'Tools', exact: true }).waitFor();
    return page;
  };

  it('sets an integration’s secret (never shown again) and enables it for an agent through its file', async () => {
    const page = await open();
    const github = page.getByRole('region', { name: 'Integration GitHub' });
    await github.waitFor();
    assert.match((await github.textContent()) ?? '', /not configured/);
    assert.match((await github.textContent()) ?? '', /github_create_issue/);
    await page.getByRole('table', { name: 'Core tools' }).getByText('edit_file').waitFor();

    // The secret goes in once; the page and the API only say it is set.
    await github.getByLabel('Value of GITHUB_TOKEN').fill(token);
    await github.getByRole('button', { name: 'Set GITHUB_TOKEN' }).click();
    await github.getByRole('status').getByText(/Saved/).waitFor();
    await github.getByText('configured', { exact: true }).waitFor();
    assert.equal(await github.getByLabel('Value of GITHUB_TOKEN').inputValue(), '');
    assert.ok(!(await page.content()).includes(token), 'the token is not in the page');
    assert.ok(!JSON.stringify(await rt.secrets.list()).includes(token));

    // Enabled for the agent: the builder writes its tools, and runtools dev redeploys it.
    const before = (await rt.deployments.list()).data.find((d) => d.apiSlug === 'helper');
    await github.getByLabel('Enable for').selectOption('helper');
    await github.getByRole('button', { name: 'Review the change' }).click();
    const change = github.getByRole('figure', { name: 'The change to agents/helper.ts' });
    await change.waitFor();
    assert.match((await change.textContent()) ?? '', /\+\s*tools: \['bash', 'github'\],/);
    await page.screenshot({ path: join(artifactsDir, 'tools-light.png'), fullPage: true });
    await github.getByRole('button', { name: 'Save to agents/helper.ts' }).click();
    await github.getByText(/github is in agents\/helper\.ts/).waitFor();
    assert.equal(
      readFileSync(join(root, 'agents/helper.ts'), 'utf8'),
      agentFile(model.baseURL).replace("tools: ['bash'],", "tools: ['bash', 'github'],"),
    );
    for (let i = 0; i < 100; i++) {
      const d = (await rt.deployments.list()).data.find((x) => x.apiSlug === 'helper');
      if ((d?.agent?.version ?? 0) > (before?.agent?.version ?? 0)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const deployed = (await rt.deployments.list()).data.find((x) => x.apiSlug === 'helper');
    const runtime = await rt.runtimes.get(deployed?.runtimeId ?? '');
    assert.deepEqual(runtime.definition.tools, ['bash', 'github']);
    // Now it has it: the page says so instead of offering it again.
    await github.getByLabel('Enable for').selectOption('');
    await github.getByLabel('Enable for').selectOption('helper');
    await github.getByText('helper has github already.').waitFor();
    await page.context().close();

    const dark = await open('dark');
    await dark.getByRole('region', { name: 'Integration GitHub' }).waitFor();
    await dark.screenshot({ path: join(artifactsDir, 'tools-dark.png'), fullPage: true });
    await dark.context().close();
  });
});
