import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { artifactsDir, type DevBrowser, startDevBrowser } from '../testing/dev-browser-fixture.ts';

const agentFile = (endpoint: string) => `import { defineAgent } from '@runtools/sdk';

// The helper agent: edited by the builder in this test.
export default defineAgent({
  slug: 'helper',
  model: { provider: 'custom', endpoint: '${endpoint}', model: 'scripted' },
  systemPrompt: 'You are the old prompt.',
  tools: ['bash'], // more to come
  template: 'debian-13',
});
`;

/** The agent builder in a real browser against `runtools dev` (the dashboard must be built). */
describe('the agent builder in the browser, under runtools dev', () => {
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
    await page.goto('/agents/helper');
    await page.getByText('agents/helper.ts').first().waitFor();
    return page;
  };

  const prompt = (page: Page) => page.getByLabel('System prompt');

  it('writes the model, tools and prompt changed in the form into the file, and dev redeploys it', async () => {
    const page = await open();
    await page.getByLabel('Model name').fill('scripted-2');
    await page.getByRole('checkbox', { name: 'grep' }).check();
    await prompt(page).click();
    await page.keyboard.press('Control+a');
    await page.keyboard.type('You are the new prompt.');
    await page.getByRole('button', { name: 'Review changes' }).click();
    await page.getByTestId('diff').waitFor();
    await page.screenshot({ path: join(artifactsDir, 'agent-builder-diff.png'), fullPage: true });
    const before = await rt.deployments.list();
    const version = before.data.find((d) => d.apiSlug === 'helper')?.agent?.version ?? 0;
    await page.getByRole('button', { name: 'Save to file' }).click();
    await page.getByText('Saved to agents/helper.ts').waitFor();
    assert.equal(
      readFileSync(join(root, 'agents/helper.ts'), 'utf8'),
      agentFile(model.baseURL)
        .replace("model: 'scripted' }", "model: 'scripted-2' }")
        .replace("'You are the old prompt.'", "'You are the new prompt.'")
        .replace("tools: ['bash'],", "tools: ['bash', 'grep'],"),
    );
    // runtools dev redeploys it: a run uses the new prompt and model.
    for (let i = 0; i < 100; i++) {
      const d = (await rt.deployments.list()).data.find((x) => x.apiSlug === 'helper');
      if ((d?.agent?.version ?? 0) > version) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    model.push({ text: 'Done.' });
    const result = await rt.run('helper', 'hello');
    assert.equal(result.status, 'completed');
    const request = model.requests.at(-1);
    assert.equal(request?.model, 'scripted-2');
    assert.ok(JSON.stringify(request?.messages).includes('You are the new prompt.'));
    await page.context().close();
  });

  it('shows an edit made on disk in the open form within 1 s', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      const page = await open(scheme);
      const text = readFileSync(join(root, 'agents/helper.ts'), 'utf8');
      writeFileSync(
        join(root, 'agents/helper.ts'),
        text.replace(/systemPrompt: '[^']*'/, `systemPrompt: 'Edited on disk (${scheme}).'`),
      );
      // Within 1 s of the write, or the wait fails.
      await page.getByText(`Edited on disk (${scheme}).`).waitFor({ timeout: 1000 });
      await page.screenshot({
        path: join(artifactsDir, `agent-builder-${scheme}.png`),
        fullPage: true,
      });
      await page.context().close();
    }
  });

  it('shows a conflict and does not overwrite the file', async () => {
    const page = await open();
    await prompt(page).click();
    await page.keyboard.press('Control+a');
    await page.keyboard.type('My unsaved prompt.');
    const onDisk = readFileSync(join(root, 'agents/helper.ts'), 'utf8').replace(
      /Edited on disk \([a-z]+\)\./,
      'Their prompt.',
    );
    writeFileSync(join(root, 'agents/helper.ts'), onDisk);
    await page.getByText('The file changed on disk').waitFor({ timeout: 2000 });
    await page.getByRole('button', { name: 'Review changes' }).click();
    const conflict = page.getByRole('alert', { name: 'Conflict' });
    await conflict.waitFor();
    assert.match((await conflict.textContent()) ?? '', /systemPrompt/);
    await page.screenshot({
      path: join(artifactsDir, 'agent-builder-conflict.png'),
      fullPage: true,
    });
    assert.equal(readFileSync(join(root, 'agents/helper.ts'), 'utf8'), onDisk);
    await page.context().close();
  });
});
