import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verifyWebhook, type WebhookPayload } from '@runtools/sdk';
import {
  startWebhookReceiver,
  type WebhookReceiver,
} from '../../server/src/testing/webhook-receiver.ts';
import { type Dashboard, startDashboard } from './dashboard-fixture.ts';

describe('dashboard: webhooks (Chromium, real server)', () => {
  let d: Dashboard;
  let receiver: WebhookReceiver;
  before(async () => {
    d = await startDashboard();
    receiver = await startWebhookReceiver();
  });
  after(async () => {
    await receiver?.close();
    await d?.[Symbol.asyncDispose]();
  });

  it('adds a webhook (secret shown once), shows a run’s delivery with its attempt, and redelivers it', async () => {
    const page = await d.signedIn();
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Webhooks' })
      .click();
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    await page.getByRole('region', { name: 'No webhooks yet' }).waitFor();

    // A URL that is not one is refused in the page, naming the field.
    await page.getByRole('textbox', { name: 'URL' }).fill('not a url');
    await page.getByRole('button', { name: 'Add webhook' }).click();
    assert.equal(
      await page.getByRole('textbox', { name: 'URL' }).getAttribute('aria-invalid'),
      'true',
    );

    await page.getByRole('textbox', { name: 'URL' }).fill(receiver.url('/runtools'));
    assert.ok(await page.getByRole('checkbox', { name: 'run.completed' }).isChecked());
    await page.getByRole('checkbox', { name: 'run.started' }).check();
    await page.getByRole('button', { name: 'Add webhook' }).click();
    const secretField = page.getByRole('textbox', { name: 'Signing secret' });
    await secretField.waitFor();
    const secret = await secretField.inputValue();
    assert.match(secret, /^whsec_/);
    const row = page.getByRole('row', { name: new RegExp(receiver.url('/runtools')) });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /run\.started, run\.completed, run\.failed/);
    await page.getByRole('button', { name: 'Done' }).click();
    assert.equal(await secretField.count(), 0, 'the secret is shown once');
    await d.screenshot(page, 'webhooks-light');

    // Its page says how to make a delivery; a run's events then appear without a reload.
    await row.getByRole('link').click();
    await page.getByRole('heading', { name: 'Webhook', level: 1 }).waitFor();
    await page
      .getByRole('region', { name: 'No deliveries yet' })
      .getByText('curl -X POST')
      .waitFor();
    await d.deployScriptedAgent('greeter');
    d.model.push({ text: 'hi' });
    const { runId, status } = await d.rt.run('greeter', 'go');
    assert.equal(status, 'completed');
    const completed = page.getByRole('row', { name: /run\.completed/ });
    await completed.getByText('succeeded').waitFor({ timeout: 30_000 });
    assert.match((await completed.textContent()) ?? '', new RegExp(`${runId}.*succeeded1HTTP 204`));
    await page.getByRole('row', { name: /run\.started/ }).waitFor();

    const delivery = (
      await d.rt.webhooks.deliveries((await d.rt.webhooks.list()).data[0]?.id ?? '')
    ).data.find((x) => x.eventType === 'run.completed');
    assert.ok(delivery);
    const attemptsButton = page.getByRole('button', {
      name: `Attempts of the run.completed delivery ${delivery.id}`,
    });
    await attemptsButton.click();
    assert.equal(await attemptsButton.getAttribute('aria-expanded'), 'true');
    const attempts = page.getByRole('list', { name: `Attempts of delivery ${delivery.id}` });
    await attempts.getByRole('listitem').filter({ hasText: 'Attempt 1' }).waitFor();
    assert.match((await attempts.textContent()) ?? '', /Attempt 1succeeded: HTTP 204/);

    // What the receiver got is signed with the secret the page showed.
    const sent = receiver.received.filter((r) => r.headers['webhook-id'] === delivery.id);
    assert.equal(sent.length, 1);
    const payload = verifyWebhook<WebhookPayload>({
      payload: sent[0]?.body ?? '',
      headers: sent[0]?.headers as Record<string, string>,
      secret,
    });
    assert.equal(payload.type, 'run.completed');
    assert.equal(payload.data.runId, runId);

    // Redeliver: a second attempt with the same id and body.
    await page
      .getByRole('button', { name: `Redeliver the run.completed delivery ${delivery.id}` })
      .click();
    await page
      .getByRole('status')
      .filter({ hasText: `Delivery ${delivery.id}` })
      .waitFor();
    await attempts
      .getByRole('listitem')
      .filter({ hasText: 'Attempt 2' })
      .waitFor({ timeout: 30_000 });
    const again = receiver.received.filter((r) => r.headers['webhook-id'] === delivery.id);
    assert.equal(again.length, 2);
    assert.equal(again[1]?.body, again[0]?.body);
    await completed.getByRole('cell', { name: '2', exact: true }).waitFor();
    await d.screenshot(page, 'webhook-light');

    const dark = await d.signedIn(undefined, { colorScheme: 'dark' });
    await dark.goto('/webhooks');
    await dark.getByRole('row', { name: new RegExp(receiver.url('/runtools')) }).waitFor();
    await d.screenshot(dark, 'webhooks-dark');
  });
});
