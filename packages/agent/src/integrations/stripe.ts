import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import Stripe from 'stripe';
import { z } from 'zod';
import { actionsFor, defineIntegration, type Integration } from './integration.ts';

const action = actionsFor<Stripe>();

/** Retries of a rate-limited call after the SDK's own, and the first wait (doubled each time). */
const rateLimitRetries = 2;
const rateLimitDelayMs = 500;

const id = (prefix: string, what: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}_[A-Za-z0-9]{4,250}$`), `a ${what} ID such as ${prefix}_123…`)
    .describe(`The ${what} ID (${prefix}_…)`);
const customerId = id('cus', 'customer');
const currency = z
  .string()
  .regex(/^[a-zA-Z]{3}$/, 'a three-letter ISO currency code such as "usd"')
  .transform((c) => c.toLowerCase())
  .describe('Three-letter ISO currency code, e.g. "usd"');
const amount = z
  .number()
  .int()
  .positive()
  .max(99_999_999)
  .describe('Amount in the smallest currency unit (cents for USD: 1999 is $19.99)');
const page = {
  limit: z.number().int().min(1).max(100).default(20).describe('Results per page (at most 100)'),
  startingAfter: z
    .string()
    .regex(/^[a-z]+_[A-Za-z0-9]+$/)
    .optional()
    .describe('nextStartingAfter of the previous page'),
};
const lineItem = z.object({
  name: z.string().min(1).max(250).describe('What is sold, as the customer sees it'),
  unitAmount: amount,
  quantity: z.number().int().min(1).max(999).default(1),
});

function nextPage(list: { has_more: boolean; data: Array<{ id: string }> }): string | null {
  return list.has_more ? (list.data.at(-1)?.id ?? null) : null;
}

/**
 * `call` again when Stripe answers 429, waiting 0.5 s, then 1 s: Stripe asks for exponential
 * backoff on its rate limit, which its SDK leaves to the caller (it retries a 429 only when
 * the answer says `Stripe-Should-Retry: true`, as a lock timeout's does, and then not here).
 * Never when Stripe says `Stripe-Should-Retry: false`. A write passes the same idempotency key each time, so a retry
 * cannot do it twice.
 */
async function retryRateLimit<T>(call: () => Promise<T>, signal: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const e = error as { statusCode?: number; headers?: Record<string, string> };
      // Stripe-Should-Retry either way settles it: false, never; true, the SDK has retried.
      if (
        e.statusCode !== 429 ||
        e.headers?.['stripe-should-retry'] !== undefined ||
        attempt >= rateLimitRetries
      ) {
        throw error;
      }
      await sleep(rateLimitDelayMs * 2 ** attempt, undefined, { signal });
    }
  }
}

export const stripe: Integration = defineIntegration<Stripe>({
  name: 'stripe',
  title: 'Stripe',
  description:
    'Customers, payment links, checkout sessions, payments and refunds on a Stripe account.',
  secrets: [
    {
      name: 'STRIPE_API_KEY',
      description:
        'a Stripe secret key (sk_live_… or sk_test_…), or better a restricted key (rk_…) with write access to customers, prices, payment links, checkout sessions and refunds, and read access to payment intents',
    },
  ],
  defaultBaseUrl: 'https://api.stripe.com',
  client(secrets, { baseUrl, fetch }) {
    // The SDK takes the API's host, port and protocol (its paths start at /v1); a path in the
    // operator's URL is not used.
    const url = new URL(baseUrl);
    return new Stripe(secrets.STRIPE_API_KEY as string, {
      httpClient: Stripe.createFetchHttpClient(fetch),
      host: url.hostname,
      port: url.port || (url.protocol === 'http:' ? 80 : 443),
      protocol: url.protocol === 'http:' ? 'http' : 'https',
      // Retries what Stripe marks retryable (Stripe-Should-Retry: true, 409, 5xx, a lost
      // connection) with its own backoff and one idempotency key.
      maxNetworkRetries: 2,
      telemetry: false,
      appInfo: { name: 'RunTools' },
    });
  },
  describeError(error) {
    const e = error as {
      type?: string;
      statusCode?: number;
      code?: string;
      message?: string;
      param?: string;
      requestId?: string;
    };
    if (typeof e.type !== 'string' || !e.type.startsWith('Stripe')) return undefined;
    const request = e.requestId ? ` (request ${e.requestId})` : '';
    // The SDK puts the request ID first; Stripe shows part of a refused key, which is not repeated.
    const message = (e.message ?? '')
      .replace(/^\[req_\w+\]\s*/, '')
      .replace(/(Invalid API Key provided: )\S+/, '$1[STRIPE_API_KEY]');
    if (e.type === 'StripeAuthenticationError' || e.statusCode === 401) {
      return `Stripe refused the key STRIPE_API_KEY (401 ${message}): set a valid secret or restricted key with \`runtools secrets set STRIPE_API_KEY\`.`;
    }
    if (e.type === 'StripePermissionError' || e.statusCode === 403) {
      return `Stripe answered 403: the key STRIPE_API_KEY may not do this (${message}).`;
    }
    if (e.type === 'StripeRateLimitError' || e.statusCode === 429) {
      return `Stripe's rate limit was still exceeded after retrying (${e.code ?? '429'}); try again later.`;
    }
    if (e.type === 'StripeConnectionError') return `Stripe could not be reached: ${message}`;
    const code = e.code ? ` ${e.code}` : '';
    const param = e.param ? ` [${e.param}]` : '';
    return `Stripe answered ${e.statusCode ?? 'an error'}${code}${param}: ${message}${request}`;
  },
  actions: [
    action({
      name: 'list_customers',
      description:
        'Finds customers, newest first: all of them, or those with an exact email. Returns ID, email, name, phone and creation time. Page with nextStartingAfter.',
      input: z.object({
        email: z.email().optional().describe('Only customers with exactly this email'),
        ...page,
      }),
      async run({ email, limit, startingAfter }, { client, signal }) {
        const list = await retryRateLimit(
          () =>
            client.customers.list({
              limit,
              ...(email ? { email } : {}),
              ...(startingAfter ? { starting_after: startingAfter } : {}),
            }),
          signal,
        );
        return {
          customers: list.data.map((c) => ({
            id: c.id,
            email: c.email ?? null,
            name: c.name ?? null,
            phone: c.phone ?? null,
            created: new Date(c.created * 1000).toISOString(),
          })),
          nextStartingAfter: nextPage(list),
        };
      },
    }),
    action({
      name: 'create_customer',
      description:
        'Creates a customer with an email and optionally a name, phone and note. Returns the customer ID (cus_…).',
      input: z.object({
        email: z.email(),
        name: z.string().min(1).max(256).optional(),
        phone: z.string().min(3).max(20).optional(),
        description: z.string().max(350).optional().describe('An internal note'),
      }),
      async run(fields, { client, signal }) {
        const idempotencyKey = randomUUID();
        const c = await retryRateLimit(
          () => client.customers.create(fields, { idempotencyKey }),
          signal,
        );
        return { id: c.id, email: c.email ?? null, name: c.name ?? null };
      },
    }),
    action({
      name: 'create_payment_link',
      description:
        'Creates a reusable payment link (a hosted page anyone with the URL can pay on) for one product at a fixed price. Returns its URL.',
      input: z.object({
        currency,
        ...lineItem.shape,
      }),
      approval: 'always',
      async run({ currency, name, unitAmount, quantity }, { client, signal }) {
        const priceKey = randomUUID();
        const price = await retryRateLimit(
          () =>
            client.prices.create(
              { currency, unit_amount: unitAmount, product_data: { name } },
              { idempotencyKey: priceKey },
            ),
          signal,
        );
        const linkKey = randomUUID();
        const link = await retryRateLimit(
          () =>
            client.paymentLinks.create(
              { line_items: [{ price: price.id, quantity }] },
              { idempotencyKey: linkKey },
            ),
          signal,
        );
        return { id: link.id, url: link.url, priceId: price.id };
      },
    }),
    action({
      name: 'create_checkout_session',
      description:
        'Creates a one-time Stripe Checkout session for line items, optionally for a customer; the customer pays on the returned URL, then is sent to successUrl. Returns its ID, URL and total.',
      input: z.object({
        currency,
        lineItems: z.array(lineItem).min(1).max(20),
        successUrl: z
          .url({ protocol: /^https?$/ })
          .describe('Where the customer goes after paying'),
        customer: customerId.optional(),
        customerEmail: z.email().optional().describe('Prefills the email (without a customer)'),
      }),
      approval: 'always',
      async run({ currency, lineItems, successUrl, customer, customerEmail }, { client, signal }) {
        const idempotencyKey = randomUUID();
        const s = await retryRateLimit(
          () =>
            client.checkout.sessions.create(
              {
                mode: 'payment',
                success_url: successUrl,
                line_items: lineItems.map((item) => ({
                  quantity: item.quantity,
                  price_data: {
                    currency,
                    unit_amount: item.unitAmount,
                    product_data: { name: item.name },
                  },
                })),
                ...(customer ? { customer } : {}),
                ...(customerEmail && !customer ? { customer_email: customerEmail } : {}),
              },
              { idempotencyKey },
            ),
          signal,
        );
        return {
          id: s.id,
          url: s.url,
          amountTotal: s.amount_total,
          currency: s.currency,
          expiresAt: new Date(s.expires_at * 1000).toISOString(),
        };
      },
    }),
    action({
      name: 'list_payments',
      description:
        "Lists payments (payment intents), newest first, all or one customer's: ID, amount, currency, status, amount received, description and time. Page with nextStartingAfter.",
      input: z.object({ customer: customerId.optional(), ...page }),
      async run({ customer, limit, startingAfter }, { client, signal }) {
        const list = await retryRateLimit(
          () =>
            client.paymentIntents.list({
              limit,
              ...(customer ? { customer } : {}),
              ...(startingAfter ? { starting_after: startingAfter } : {}),
            }),
          signal,
        );
        return {
          payments: list.data.map((p) => ({
            id: p.id,
            amount: p.amount,
            currency: p.currency,
            status: p.status,
            amountReceived: p.amount_received,
            customer: typeof p.customer === 'string' ? p.customer : (p.customer?.id ?? null),
            description: p.description ?? null,
            created: new Date(p.created * 1000).toISOString(),
          })),
          nextStartingAfter: nextPage(list),
        };
      },
    }),
    action({
      name: 'create_refund',
      description:
        'Refunds a payment (payment intent pi_…), all of what is left of it or part of it. Returns the refund ID, amount and status.',
      input: z.object({
        paymentIntent: id('pi', 'payment intent'),
        amount: amount.optional().describe('Part to refund, smallest currency unit (default: all)'),
        reason: z.enum(['duplicate', 'fraudulent', 'requested_by_customer']).optional(),
      }),
      approval: 'always',
      async run({ paymentIntent, amount, reason }, { client, signal }) {
        const idempotencyKey = randomUUID();
        const r = await retryRateLimit(
          () =>
            client.refunds.create(
              {
                payment_intent: paymentIntent,
                ...(amount !== undefined ? { amount } : {}),
                ...(reason ? { reason } : {}),
              },
              { idempotencyKey },
            ),
          signal,
        );
        return {
          id: r.id,
          amount: r.amount,
          currency: r.currency,
          status: r.status,
          paymentIntent,
        };
      },
    }),
  ],
});
