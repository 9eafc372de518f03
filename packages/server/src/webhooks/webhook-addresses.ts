import {
  AddressPolicy,
  AddressRefusedError,
  checkedAddresses,
  type HostLookup,
} from '@runtools/agent';
import { RunToolsError } from '@runtools/sdk';

/**
 * Where webhooks may be sent: the address policy (forbidden ranges, and those the operator allows
 * with `RUNTOOLS_WEBHOOK_ALLOW`) and how host names are resolved (the system resolver by default;
 * tests inject one).
 */
export interface WebhookAddresses {
  policy: AddressPolicy;
  lookup?: HostLookup;
}

/** No operator allowances: public addresses only. */
export function defaultWebhookAddresses(): WebhookAddresses {
  return { policy: new AddressPolicy() };
}

/** How long creating a webhook waits for its host name to resolve before accepting it anyway. */
const lookupWaitMs = 3000;

/**
 * Refuses a webhook URL (`webhook_url_forbidden`) whose host is an IP address, or a name that
 * resolves now to an address, that the policy forbids. A name that does not resolve (yet) is
 * accepted: every delivery resolves and checks it again, since DNS can change after this.
 */
export async function checkWebhookUrl(url: string, addresses: WebhookAddresses): Promise<void> {
  const { hostname } = new URL(url);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      checkedAddresses(hostname, addresses.policy, addresses.lookup),
      new Promise((resolve) => {
        timer = setTimeout(resolve, lookupWaitMs);
      }),
    ]);
  } catch (error) {
    if (!(error instanceof AddressRefusedError)) return;
    throw new RunToolsError(
      'webhook_url_forbidden',
      `The webhook URL's host ${error.host} is or resolves to a loopback, private, link-local or metadata address, which this server does not send webhooks to. The operator can allow a range with RUNTOOLS_WEBHOOK_ALLOW (e.g. RUNTOOLS_WEBHOOK_ALLOW=10.0.0.0/8); runtools dev allows loopback.`,
      { details: { field: 'url', setting: 'RUNTOOLS_WEBHOOK_ALLOW' } },
    );
  } finally {
    clearTimeout(timer);
  }
}
