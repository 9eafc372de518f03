import type { SecretBox } from './secret-box.ts';

/** A webhook's signing secret as the database holds it: sealed, bound to the webhook. */
export function sealWebhookSecret(secret: string, box: SecretBox, webhookId: string): string {
  return box.seal(secret, context(webhookId));
}

/** The signing secret of a webhook row (see `sealWebhookSecret`). */
export function openWebhookSecret(stored: string, box: SecretBox, webhookId: string): string {
  return box.open(stored, context(webhookId));
}

function context(webhookId: string): string {
  return `webhooks.secret:${webhookId}`;
}
