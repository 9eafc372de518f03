import { github } from './github.ts';
import { gmail } from './gmail.ts';
import type { Integration } from './integration.ts';
import { slack } from './slack.ts';
import { stripe } from './stripe.ts';
import { twilio } from './twilio.ts';

/** Every integration RunTools ships, in catalog order. */
export const marketplace: readonly Integration[] = [github, slack, stripe, twilio, gmail];
