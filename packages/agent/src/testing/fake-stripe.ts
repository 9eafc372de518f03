import { type FakeAnswer, FakeService, type ReceivedRequest } from './fake-service.ts';

type Fields = Record<string, unknown>;

interface FakePaymentIntent {
  id: string;
  amount: number;
  amount_refunded: number;
  currency: string;
  status: string;
  customer: string | null;
  description: string | null;
  created: number;
}

const docs = 'https://stripe.com/docs/error-codes';

/**
 * A loopback stand-in for the Stripe API (`https://api.stripe.com/v1/…`), as documented: the
 * secret key as `Authorization: Bearer sk_…` or as the HTTP Basic user (401 "Invalid API Key
 * provided: sk_test_****…" otherwise); form-encoded bodies with bracketed keys
 * (`line_items[0][price_data][currency]`); lists as `{ object: 'list', data, has_more, url }`
 * paged by `limit` and `starting_after`; errors as `{ error: { type, code, message, param,
 * doc_url } }` with a `Request-Id` header on every answer; rate limits as 429 `rate_limit`
 * (`rateLimited()`), or a 429 `lock_timeout` with `Stripe-Should-Retry: true`.
 */
export class FakeStripe extends FakeService {
  readonly apiKey: string;
  readonly customers: Array<Fields & { id: string; created: number }> = [];
  readonly paymentIntents: FakePaymentIntent[] = [];
  readonly refunds: Fields[] = [];
  readonly prices: Fields[] = [];
  readonly paymentLinks: Fields[] = [];
  readonly checkoutSessions: Fields[] = [];
  #next = 1;
  #clock = 1_760_000_000;

  constructor(apiKey: string) {
    super();
    this.apiKey = apiKey;
    const route = (method: string, path: string, handler: (f: Fields, p: Fields) => FakeAnswer) =>
      this.on(method, path, (r, p) => this.#authed(r, (f) => handler(f, p)));
    route('POST', '/v1/customers', (f) => {
      const customer = {
        id: this.#id('cus'),
        object: 'customer',
        created: this.#clock++,
        email: f.email ?? null,
        name: f.name ?? null,
        phone: f.phone ?? null,
        description: f.description ?? null,
        metadata: f.metadata ?? {},
      };
      this.customers.push(customer);
      return { json: customer };
    });
    route('GET', '/v1/customers', (f) =>
      list(
        [...this.customers].reverse().filter((c) => f.email === undefined || c.email === f.email),
        f,
        '/v1/customers',
      ),
    );
    route('POST', '/v1/prices', (f) => {
      const productData = f.product_data as Fields | undefined;
      if (!f.currency || !f.unit_amount || !(f.product || productData?.name)) {
        return invalid('Missing required param: currency, unit_amount or product.', 'currency');
      }
      const price = {
        id: this.#id('price'),
        object: 'price',
        currency: f.currency,
        unit_amount: Number(f.unit_amount),
        product: f.product ?? this.#id('prod'),
      };
      this.prices.push(price);
      return { json: price };
    });
    route('POST', '/v1/payment_links', (f) => {
      const items = Object.values((f.line_items ?? {}) as Record<string, Fields>);
      if (items.length === 0) return invalid('Missing required param: line_items.', 'line_items');
      for (const item of items) {
        if (!this.prices.some((p) => p.id === item.price)) {
          return missing('price', String(item.price), 'line_items[0][price]');
        }
      }
      const id = this.#id('plink');
      const link = {
        id,
        object: 'payment_link',
        active: true,
        url: `https://buy.stripe.com/test_${id}`,
        line_items: items,
      };
      this.paymentLinks.push(link);
      return { json: link };
    });
    route('POST', '/v1/checkout/sessions', (f) => {
      const items = Object.values((f.line_items ?? {}) as Record<string, Fields>);
      if (f.mode !== 'payment' && f.mode !== 'subscription' && f.mode !== 'setup') {
        return invalid('Missing required param: mode.', 'mode');
      }
      if (f.customer !== undefined && !this.customers.some((c) => c.id === f.customer)) {
        return missing('customer', String(f.customer), 'customer');
      }
      const total = items.reduce((sum, item) => {
        const data = item.price_data as Fields | undefined;
        return sum + Number(data?.unit_amount ?? 0) * Number(item.quantity ?? 1);
      }, 0);
      const id = `cs_test_${String(this.#next++).padStart(24, '0')}`;
      const session = {
        id,
        object: 'checkout.session',
        mode: f.mode,
        status: 'open',
        payment_status: 'unpaid',
        amount_total: total,
        currency: (items[0]?.price_data as Fields | undefined)?.currency ?? null,
        customer: f.customer ?? null,
        customer_email: f.customer_email ?? null,
        success_url: f.success_url ?? null,
        url: `https://checkout.stripe.com/c/pay/${id}`,
        expires_at: this.#clock + 86_400,
      };
      this.checkoutSessions.push(session);
      return { json: session };
    });
    route('GET', '/v1/payment_intents', (f) =>
      list(
        [...this.paymentIntents]
          .reverse()
          .filter((p) => f.customer === undefined || p.customer === f.customer)
          .map(({ amount_refunded: _, ...p }) => ({
            object: 'payment_intent',
            ...p,
            amount_received: p.amount,
          })),
        f,
        '/v1/payment_intents',
      ),
    );
    route('POST', '/v1/refunds', (f) => {
      const intent = this.paymentIntents.find((p) => p.id === f.payment_intent);
      if (!intent) return missing('payment_intent', String(f.payment_intent), 'payment_intent');
      const amount =
        f.amount === undefined ? intent.amount - intent.amount_refunded : Number(f.amount);
      if (intent.amount_refunded >= intent.amount) {
        return invalid(
          `Charge ${intent.id.replace('pi_', 'ch_')} has already been refunded.`,
          undefined,
          'charge_already_refunded',
        );
      }
      if (amount > intent.amount - intent.amount_refunded) {
        return invalid(
          `Refund amount (${amount}) is greater than unrefunded amount on charge (${intent.amount - intent.amount_refunded})`,
          'amount',
          'amount_too_large',
        );
      }
      intent.amount_refunded += amount;
      const refund = {
        id: this.#id('re'),
        object: 'refund',
        amount,
        currency: intent.currency,
        payment_intent: intent.id,
        reason: f.reason ?? null,
        status: 'succeeded',
        created: this.#clock++,
      };
      this.refunds.push(refund);
      return { json: refund };
    });
  }

  static async start(apiKey: string): Promise<FakeStripe> {
    return new FakeStripe(apiKey).start();
  }

  /** A customer, as if made in Stripe's dashboard; returns its id. */
  addCustomer(email: string, name: string | null = null): string {
    const id = this.#id('cus');
    this.customers.push({
      id,
      object: 'customer',
      created: this.#clock++,
      email,
      name,
      phone: null,
      description: null,
      metadata: {},
    });
    return id;
  }

  /** A succeeded payment of `amount` (smallest currency unit) by a customer; returns its id. */
  addPayment(amount: number, customer: string | null = null, currency = 'usd'): string {
    const id = this.#id('pi');
    this.paymentIntents.push({
      id,
      amount,
      amount_refunded: 0,
      currency,
      status: 'succeeded',
      customer,
      description: null,
      created: this.#clock++,
    });
    return id;
  }

  /**
   * The next `times` requests answer 429: Stripe's request rate limit (`rate_limit`, which its
   * docs ask clients to retry with exponential backoff), or a `lock_timeout` on an object in use,
   * which Stripe marks `Stripe-Should-Retry: true`.
   */
  rateLimited(times = 1, kind: 'rate_limit' | 'lock_timeout' = 'rate_limit'): void {
    for (let i = 0; i < times; i++) {
      this.answerNext({
        status: 429,
        headers: {
          'request-id': this.#requestId(),
          ...(kind === 'lock_timeout' ? { 'stripe-should-retry': 'true' } : {}),
        },
        json: {
          error: {
            type: 'invalid_request_error',
            code: kind,
            message:
              kind === 'rate_limit'
                ? 'Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.'
                : 'This object cannot be accessed right now because another API request or Stripe process is currently accessing it.',
            doc_url: `${docs}/${kind}`,
          },
        },
      });
    }
  }

  #authed(request: ReceivedRequest, handle: (fields: Fields) => FakeAnswer): FakeAnswer {
    const auth = String(request.headers.authorization ?? '');
    let key: string | undefined;
    if (auth.startsWith('Bearer ')) key = auth.slice(7);
    else if (auth.startsWith('Basic ')) {
      key = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':')[0];
    }
    const answer =
      key === undefined || key === ''
        ? error(401, {
            type: 'invalid_request_error',
            message:
              "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
          })
        : key !== this.apiKey
          ? error(401, {
              type: 'invalid_request_error',
              message: `Invalid API Key provided: ${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`,
            })
          : handle(
              request.method === 'GET'
                ? parseForm(request.query.toString())
                : parseForm(request.body),
            );
    return {
      ...answer,
      headers: { 'request-id': this.#requestId(), ...answer.headers },
    };
  }

  #id(prefix: string): string {
    return `${prefix}_${String(this.#next++).padStart(14, '0')}`;
  }

  #requestId(): string {
    return `req_${String(this.#next++).padStart(14, '0')}`;
  }
}

/** A Stripe form body (`a[b][0][c]=v`) as nested objects (arrays as objects keyed `0`, `1`, …). */
export function parseForm(body: string): Fields {
  const out: Fields = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const path = key.split(/\[|\]\[|\]/).filter((s) => s !== '');
    let node = out;
    for (const segment of path.slice(0, -1)) {
      node[segment] ??= {};
      node = node[segment] as Fields;
    }
    node[path.at(-1) ?? key] = value;
  }
  return out;
}

function list(items: Array<{ id: string }>, f: Fields, url: string): FakeAnswer {
  const limit = Math.min(Number(f.limit ?? 10) || 10, 100);
  const start = f.starting_after ? items.findIndex((i) => i.id === f.starting_after) + 1 : 0;
  const data = items.slice(start, start + limit);
  return { json: { object: 'list', data, has_more: start + limit < items.length, url } };
}

function error(status: number, body: Fields): FakeAnswer {
  return { status, json: { error: body } };
}

function invalid(message: string, param?: string, code = 'parameter_missing'): FakeAnswer {
  return error(400, {
    type: 'invalid_request_error',
    code,
    message,
    ...(param ? { param } : {}),
    doc_url: `${docs}/${code}`,
  });
}

function missing(object: string, id: string, param: string): FakeAnswer {
  return error(404, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    message: `No such ${object}: '${id}'`,
    param,
    doc_url: `${docs}/resource_missing`,
  });
}
