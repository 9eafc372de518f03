import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Stripe from 'stripe';
import { AddressPolicy } from '../net/address-policy.ts';
import { loopbackRanges } from '../net/forbidden-ranges.ts';
import { createPinnedFetch } from '../net/pinned-fetch.ts';
import { FakeStripe, parseForm } from '../testing/fake-stripe.ts';
import type { ToolContext } from '../tools/tool.ts';
import { createIntegrationTools } from './integration-tools.ts';

const apiKey = 'sk_test_51AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
const loopbackFetch = createPinnedFetch({ policy: new AddressPolicy({ allow: loopbackRanges }) });
const ctx = (): ToolContext => ({
  sandbox: undefined as never,
  signal: new AbortController().signal,
  state: {},
});

function tools(fake: FakeStripe, key: string | undefined = apiKey) {
  return createIntegrationTools([{ name: 'stripe' }], {
    credentials: async (name) => (name === 'STRIPE_API_KEY' ? key : undefined),
    baseUrls: { stripe: fake.url },
    fetch: loopbackFetch,
  });
}

async function call(fake: FakeStripe, name: string, input: unknown, key?: string) {
  const tool = tools(fake, key ?? apiKey)[name];
  assert.ok(tool, `no tool ${name}`);
  const parsed = tool.inputSchema.safeParse(input);
  assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
  return tool.execute(parsed.data, ctx());
}

const sdk = (fake: FakeStripe, key = apiKey) => {
  const url = new URL(fake.url);
  return new Stripe(key, {
    host: url.hostname,
    port: url.port,
    protocol: 'http',
    maxNetworkRetries: 0,
  });
};

describe('the fake Stripe, checked with the stripe SDK', () => {
  it('pages lists with starting_after, reads bracketed forms, and answers errors as Stripe does', async () => {
    await using fake = await FakeStripe.start(apiKey);
    const stripe = sdk(fake);
    for (let i = 0; i < 5; i++) await stripe.customers.create({ email: `c${i}@example.com` });
    const emails: Array<string | null | undefined> = [];
    for await (const c of stripe.customers.list({ limit: 2 })) emails.push(c.email);
    assert.deepEqual(
      emails,
      [4, 3, 2, 1, 0].map((i) => `c${i}@example.com`),
    );
    assert.equal(
      fake.requests.filter((r) => r.path === '/v1/customers' && r.method === 'GET').length,
      3,
    );
    assert.equal(fake.requests.at(-1)?.headers.authorization, `Bearer ${apiKey}`);
    assert.deepEqual(parseForm('line_items[0][price_data][currency]=usd&mode=payment'), {
      line_items: { 0: { price_data: { currency: 'usd' } } },
      mode: 'payment',
    });
    await assert.rejects(
      stripe.refunds.create({ payment_intent: 'pi_nope0000' }),
      (e: InstanceType<typeof Stripe.errors.StripeError>) =>
        e.type === 'StripeInvalidRequestError' &&
        e.statusCode === 404 &&
        e.code === 'resource_missing' &&
        typeof e.requestId === 'string',
    );
    await assert.rejects(
      sdk(fake, 'sk_test_wrong0000000000000000').customers.list(),
      (e: InstanceType<typeof Stripe.errors.StripeError>) =>
        e.type === 'StripeAuthenticationError' && /Invalid API Key provided/.test(e.message),
    );
    fake.rateLimited(1);
    await assert.rejects(
      stripe.customers.list(),
      (e: InstanceType<typeof Stripe.errors.StripeError>) =>
        e.type === 'StripeRateLimitError' && e.code === 'rate_limit',
    );
  });
});

describe('stripe integration', () => {
  it('creates and finds customers, makes a payment link and a checkout session, lists payments, refunds', async () => {
    await using fake = await FakeStripe.start(apiKey);
    const created = await call(fake, 'stripe_create_customer', {
      email: 'ada@example.com',
      name: 'Ada Lovelace',
    });
    assert.equal(created.isError, undefined, created.output);
    const customer = JSON.parse(created.output);
    assert.match(customer.id, /^cus_/);
    const post = fake.requests.at(-1);
    assert.equal(post?.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.ok(post?.headers['idempotency-key']);
    await call(fake, 'stripe_create_customer', { email: 'bob@example.com' });

    const found = JSON.parse(
      (await call(fake, 'stripe_list_customers', { email: 'ada@example.com' })).output,
    );
    assert.deepEqual(
      found.customers.map((c: { id: string; name: string }) => [c.id, c.name]),
      [[customer.id, 'Ada Lovelace']],
    );
    const first = JSON.parse((await call(fake, 'stripe_list_customers', { limit: 1 })).output);
    assert.equal(first.customers[0].email, 'bob@example.com');
    const second = JSON.parse(
      (
        await call(fake, 'stripe_list_customers', {
          limit: 1,
          startingAfter: first.nextStartingAfter,
        })
      ).output,
    );
    assert.equal(second.customers[0].email, 'ada@example.com');
    assert.equal(second.nextStartingAfter, null);

    const link = JSON.parse(
      (
        await call(fake, 'stripe_create_payment_link', {
          currency: 'USD',
          name: 'Consulting hour',
          unitAmount: 15_000,
        })
      ).output,
    );
    assert.match(link.url, /^https:\/\/buy\.stripe\.com\//);
    assert.deepEqual(fake.prices[0], {
      id: link.priceId,
      object: 'price',
      currency: 'usd',
      unit_amount: 15_000,
      product: fake.prices[0]?.product,
    });
    assert.deepEqual(parseForm(fake.requests.at(-1)?.body ?? '').line_items, {
      0: { price: link.priceId, quantity: '1' },
    });

    const session = JSON.parse(
      (
        await call(fake, 'stripe_create_checkout_session', {
          currency: 'eur',
          lineItems: [
            { name: 'T-shirt', unitAmount: 2000, quantity: 2 },
            { name: 'Mug', unitAmount: 1200 },
          ],
          successUrl: 'https://shop.example.com/thanks',
          customer: customer.id,
        })
      ).output,
    );
    assert.equal(session.amountTotal, 5200);
    assert.match(session.url, /^https:\/\/checkout\.stripe\.com\//);
    assert.equal(
      (
        parseForm(fake.requests.at(-1)?.body ?? '') as {
          line_items: Record<string, { price_data: { product_data: { name: string } } }>;
        }
      ).line_items[1]?.price_data.product_data.name,
      'Mug',
    );

    const paid = fake.addPayment(4200, customer.id);
    fake.addPayment(999);
    const payments = JSON.parse(
      (await call(fake, 'stripe_list_payments', { customer: customer.id })).output,
    );
    assert.deepEqual(
      payments.payments.map((p: { id: string; amount: number; status: string }) => [
        p.id,
        p.amount,
        p.status,
      ]),
      [[paid, 4200, 'succeeded']],
    );
    const refund = JSON.parse(
      (
        await call(fake, 'stripe_create_refund', {
          paymentIntent: paid,
          amount: 1000,
          reason: 'requested_by_customer',
        })
      ).output,
    );
    assert.deepEqual([refund.amount, refund.status], [1000, 'succeeded']);
  });

  it('asks for approval before what charges or refunds', () => {
    const all = createIntegrationTools([{ name: 'stripe' }], {
      credentials: async () => undefined,
    });
    assert.deepEqual(
      Object.values(all)
        .filter((t) => t.approval === 'always')
        .map((t) => t.name),
      ['stripe_create_payment_link', 'stripe_create_checkout_session', 'stripe_create_refund'],
    );
  });

  it("gives Stripe's error code and message", async () => {
    await using fake = await FakeStripe.start(apiKey);
    const paid = fake.addPayment(500);
    const tooMuch = await call(fake, 'stripe_create_refund', { paymentIntent: paid, amount: 900 });
    assert.equal(tooMuch.isError, true);
    assert.match(
      tooMuch.output,
      /Stripe answered 400 amount_too_large \[amount\]: Refund amount \(900\)/,
    );
    const missing = await call(fake, 'stripe_create_refund', { paymentIntent: 'pi_nope00000' });
    assert.match(missing.output, /404 resource_missing .*No such payment_intent/);
  });

  it('retries a 429 with backoff (rate_limit) and as Stripe-Should-Retry says (lock_timeout), with one idempotency key', async () => {
    await using fake = await FakeStripe.start(apiKey);
    fake.rateLimited(2, 'rate_limit');
    const started = Date.now();
    const r = await call(fake, 'stripe_create_customer', { email: 'ada@example.com' });
    assert.equal(r.isError, undefined, r.output);
    assert.ok(Date.now() - started >= 1400, 'waited 0.5 s, then 1 s');
    const posts = fake.requests.filter((q) => q.path === '/v1/customers');
    assert.equal(posts.length, 3);
    assert.equal(new Set(posts.map((q) => q.headers['idempotency-key'])).size, 1);
    assert.equal(fake.customers.length, 1);

    fake.rateLimited(1, 'lock_timeout');
    const locked = await call(fake, 'stripe_list_customers', {});
    assert.equal(locked.isError, undefined, locked.output);
    // The SDK retried it (Stripe-Should-Retry: true) before the action saw an error.
    assert.equal(fake.requests.filter((q) => q.method === 'GET').length, 2);

    // Still locked after the SDK's two retries: not retried again.
    fake.rateLimited(3, 'lock_timeout');
    const stillLocked = await call(fake, 'stripe_list_customers', {});
    assert.equal(stillLocked.isError, true);
    assert.equal(fake.requests.filter((q) => q.method === 'GET').length, 5);

    fake.rateLimited(3, 'rate_limit');
    const exhausted = await call(fake, 'stripe_list_customers', {});
    assert.equal(exhausted.isError, true);
    assert.match(exhausted.output, /rate limit was still exceeded/);
  });

  it('says a refused or missing key is STRIPE_API_KEY, never showing it', async () => {
    await using fake = await FakeStripe.start(apiKey);
    const wrong = 'sk_test_WRONGwrongWRONGwrong0123456789';
    const bad = await call(fake, 'stripe_list_payments', {}, wrong);
    assert.equal(bad.isError, true);
    assert.match(bad.output, /refused the key STRIPE_API_KEY \(401 Invalid API Key provided/);
    assert.ok(!bad.output.includes(wrong.slice(-4)), 'not even the part Stripe shows');
    const tool = tools(fake, '').stripe_list_payments;
    const none = await tool?.execute({ limit: 20 }, ctx());
    assert.match(none?.output ?? '', /runtools secrets set STRIPE_API_KEY/);
  });

  it("reaches the service only through the framework's address-checked fetch", async () => {
    await using fake = await FakeStripe.start(apiKey);
    const tools = createIntegrationTools([{ name: 'stripe' }], {
      credentials: async () => apiKey,
      baseUrls: { stripe: fake.url },
    });
    const r = await tools.stripe_list_customers?.execute({ limit: 20 }, ctx());
    assert.equal(r?.isError, true);
    assert.equal(fake.requests.length, 0, 'the default fetch refuses loopback');
  });
});
