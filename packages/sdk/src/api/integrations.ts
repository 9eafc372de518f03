import { z } from 'zod';

/**
 * The marketplace integrations RunTools ships and the actions of each, by name. An agent enables
 * one by name (`tools: ['github']`: every action) or narrows it (`{ slack: ['post_message'] }`);
 * the model calls an action as `INTEGRATION_ACTION` (`github_create_issue`). The actions
 * themselves (inputs, descriptions, credentials) are `@runtools/agent`'s; this list is the
 * contract an agent definition is checked against.
 */
export const integrationActions = {
  github: [
    'search_issues',
    'get_issue',
    'create_issue',
    'comment_on_issue',
    'list_pull_requests',
    'get_pull_request',
    'read_file',
    'create_branch',
    'create_pull_request',
  ],
  slack: [
    'post_message',
    'reply_in_thread',
    'read_channel_history',
    'list_channels',
    'lookup_user',
  ],
  stripe: [
    'list_customers',
    'create_customer',
    'create_payment_link',
    'create_checkout_session',
    'list_payments',
    'create_refund',
  ],
  twilio: ['send_sms', 'list_messages', 'make_call'],
  gmail: ['search_emails', 'read_message', 'read_thread', 'send_email', 'create_draft'],
} as const satisfies Record<string, readonly string[]>;

export type IntegrationName = keyof typeof integrationActions;

export const integrationNames = Object.keys(integrationActions) as IntegrationName[];

/** True for the name of a marketplace integration (`github`, `slack`, …). */
export function isIntegrationName(name: unknown): name is IntegrationName {
  return typeof name === 'string' && Object.hasOwn(integrationActions, name);
}

/** The name the model calls an integration's action: `github_create_issue`. */
export function integrationToolName(integration: string, action: string): string {
  return `${integration}_${action}`;
}

/**
 * An integration narrowed to some of its actions, as an entry of an agent's `tools`:
 * `{ slack: ['post_message', 'list_channels'] }`. One integration per entry.
 */
export const integrationSelectionSchema = z
  .record(z.string(), z.array(z.string().min(1)).min(1).max(50))
  .superRefine((entry, ctx) => {
    const names = Object.keys(entry);
    if (names.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `one integration per entry, such as { slack: ['post_message'] }, got ${names.length}`,
      });
      return;
    }
    const name = names[0] as string;
    if (!isIntegrationName(name)) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `"${name}" is not an integration; the integrations are ${integrationNames.join(', ')}`,
      });
      return;
    }
    const known: readonly string[] = integrationActions[name];
    for (const [i, action] of (entry[name] ?? []).entries()) {
      if (!known.includes(action)) {
        ctx.addIssue({
          code: 'custom',
          path: [name, i],
          message: `"${action}" is not an action of ${name}; its actions are ${known.join(', ')}`,
        });
      }
    }
  })
  .meta({ id: 'IntegrationSelection' });

export type IntegrationSelection = z.infer<typeof integrationSelectionSchema>;

/** True for an `{ integration: [actions] }` entry of an agent's `tools` (shape only). */
export function isIntegrationSelection(value: unknown): value is IntegrationSelection {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && isIntegrationName(keys[0]);
}

/** An integration an agent enables, with the actions it narrows it to (all when absent). */
export interface EnabledIntegration {
  name: IntegrationName;
  actions?: string[];
}
