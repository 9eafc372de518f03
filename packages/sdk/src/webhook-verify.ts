import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { RunToolsError } from './errors.ts';

/**
 * Standard Webhooks (https://www.standardwebhooks.com) signing and verification, symmetric scheme:
 * the signed content is `${webhook-id}.${webhook-timestamp}.${body}`, signed with HMAC-SHA256
 * under the secret's bytes (the base64 after `whsec_`), and sent as `v1,<base64 signature>` in a
 * space-separated `webhook-signature` list (several entries during a secret rotation).
 */

const secretPrefix = 'whsec_';

/** A new signing secret: `whsec_` + base64 of 24 random bytes (the spec's minimum). */
export function generateWebhookSecret(): string {
  return `${secretPrefix}${randomBytes(24).toString('base64')}`;
}

export interface SignWebhookInput {
  /** The message id, sent as `webhook-id`; the same on every retry (an idempotency key). */
  id: string;
  /** Unix time in seconds of this attempt, sent as `webhook-timestamp`. */
  timestamp: number;
  /** The exact body sent. */
  body: string;
  secret: string;
}

/** The `v1,<base64>` signature of one message, as it goes into `webhook-signature`. */
export function signWebhook({ id, timestamp, body, secret }: SignWebhookInput): string {
  return `v1,${hmac(secretKey(secret), id, String(timestamp), body).toString('base64')}`;
}

export interface VerifyWebhookInput {
  /** The raw request body, exactly as received (not re-serialized JSON). */
  payload: string | Uint8Array;
  /** Request headers: a `Headers`, or a plain object such as node:http's `req.headers`. */
  headers: Headers | Record<string, string | string[] | undefined>;
  secret: string;
  /** How far `webhook-timestamp` may be from now, either way. Default 300 (5 minutes). */
  toleranceSeconds?: number;
  /** The current time (for tests); default `new Date()`. */
  now?: Date | number;
}

/**
 * Checks a webhook request RunTools sent and returns its parsed JSON body. Throws a
 * `RunToolsError` with code `webhook_invalid` when a header is missing, the timestamp is
 * malformed or outside the tolerance (replay protection), or no `v1` signature matches.
 * Signatures are compared in constant time.
 *
 * @example
 * const event = verifyWebhook({
 *   payload: await request.text(),
 *   headers: request.headers,
 *   secret: process.env.RUNTOOLS_WEBHOOK_SECRET,
 * });
 */
export function verifyWebhook<T = unknown>(input: VerifyWebhookInput): T {
  const { headers, secret, toleranceSeconds = 300 } = input;
  const id = header(headers, 'webhook-id');
  const timestampText = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!/^\d{1,15}$/.test(timestampText)) {
    throw invalid(`webhook-timestamp "${timestampText}" is not a Unix time in seconds.`);
  }
  const timestamp = Number(timestampText);
  const nowMs = input.now === undefined ? Date.now() : Number(input.now);
  const nowSeconds = Math.floor(nowMs / 1000);
  if (timestamp < nowSeconds - toleranceSeconds) {
    throw invalid(
      `webhook-timestamp is ${nowSeconds - timestamp} s old, more than the ${toleranceSeconds} s tolerance.`,
    );
  }
  if (timestamp > nowSeconds + toleranceSeconds) {
    throw invalid(
      `webhook-timestamp is ${timestamp - nowSeconds} s in the future, more than the ${toleranceSeconds} s tolerance.`,
    );
  }
  const body =
    typeof input.payload === 'string' ? input.payload : new TextDecoder().decode(input.payload);
  const expected = hmac(secretKey(secret), id, timestampText, body);
  const matches = signatures
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .some((entry) => {
      const candidate = Buffer.from(entry.slice(3), 'base64');
      return candidate.length === expected.length && timingSafeEqual(candidate, expected);
    });
  if (!matches) throw invalid('No webhook-signature entry matches the payload and secret.');
  try {
    return JSON.parse(body) as T;
  } catch (error) {
    throw invalid('The webhook payload is not valid JSON.', error);
  }
}

function hmac(key: Buffer, id: string, timestamp: string, body: string): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
}

function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(secretPrefix) ? secret.slice(secretPrefix.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) {
    throw new RunToolsError('webhook_secret_invalid', 'The webhook secret is empty.');
  }
  return key;
}

function header(headers: VerifyWebhookInput['headers'], name: string): string {
  const value =
    headers instanceof Headers
      ? headers.get(name)
      : (headers[name] ?? findCaseInsensitive(headers, name));
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text === null || text === '') {
    throw invalid(`Missing ${name} header.`);
  }
  return text;
}

function findCaseInsensitive(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | string[] | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

function invalid(message: string, cause?: unknown): RunToolsError {
  return new RunToolsError('webhook_invalid', message, cause === undefined ? {} : { cause });
}
