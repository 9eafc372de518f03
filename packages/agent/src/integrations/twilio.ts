import { setTimeout as sleep } from 'node:timers/promises';
import TwilioSDK from 'twilio';
import { z } from 'zod';
import {
  actionsFor,
  type ClientSettings,
  defineIntegration,
  type Integration,
} from './integration.ts';

type Twilio = TwilioSDK.Twilio;
const action = actionsFor<Twilio>();

const defaultBaseUrl = 'https://api.twilio.com';
/** Retries of a 429 (Twilio's error 20429), the first wait, and the longest Retry-After waited. */
const rateLimitRetries = 2;
const rateLimitDelayMs = 250;
const maxRetryAfterSeconds = 60;

const phone = (what: string) =>
  z
    .string()
    .regex(/^\+[1-9]\d{6,14}$/, 'a phone number in E.164 form, such as +14155550100')
    .describe(`${what}, in E.164 form (+14155550100)`);
const from = phone("The sender: one of the account's Twilio numbers");

/** The answer the SDK expects of its HTTP client. */
interface HttpAnswer {
  statusCode: number;
  body: string;
  headers: Record<string, string>;
}

/**
 * Twilio's HTTP client, on the framework's address-checked fetch instead of the SDK's own axios
 * (which would reach any host, and read HTTP_PROXY). It sends the SDK's requests to the
 * operator's base URL (only Twilio's API hosts are ever asked for), signs them with HTTP Basic
 * (the account SID and auth token), and retries a 429 — Twilio's error 20429, for which Twilio
 * asks for exponential backoff — twice: after its Retry-After if it sent one, else 0.25 s, 0.5 s.
 */
function httpClient({ baseUrl, fetch }: ClientSettings) {
  const rewrite = baseUrl.replace(/\/+$/, '') !== defaultBaseUrl;
  return {
    async request(opts: {
      method: string;
      uri: string;
      username?: string;
      password?: string;
      headers?: Record<string, string>;
      params?: Record<string, unknown>;
      data?: Record<string, unknown>;
    }): Promise<HttpAnswer> {
      const target = new URL(opts.uri);
      if (!/^api(\.[a-z0-9-]+)*\.twilio\.com$/.test(target.hostname)) {
        throw new Error(`Twilio's SDK asked for ${target.host}, which is not Twilio's API.`);
      }
      const url = rewrite ? new URL(`${baseUrl.replace(/\/+$/, '')}${target.pathname}`) : target;
      if (rewrite) url.search = target.search;
      for (const [key, value] of formPairs(opts.params)) url.searchParams.append(key, value);
      const headers: Record<string, string> = { ...opts.headers };
      delete headers.Connection;
      if (opts.username && opts.password) {
        headers.Authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
      }
      const body = opts.data ? new URLSearchParams(formPairs(opts.data)).toString() : undefined;
      for (let attempt = 0; ; attempt++) {
        const response = await fetch(url, {
          method: opts.method.toUpperCase(),
          headers,
          ...(body !== undefined ? { body } : {}),
          redirect: 'manual',
        });
        const text = await response.text();
        if (response.status === 429 && attempt < rateLimitRetries) {
          const after = Number(response.headers.get('retry-after'));
          if (Number.isFinite(after) && after > maxRetryAfterSeconds) {
            return answer(response, text);
          }
          await sleep(after > 0 ? after * 1000 : rateLimitDelayMs * 2 ** attempt);
          continue;
        }
        return answer(response, text);
      }
    },
  };
}

function answer(response: Response, body: string): HttpAnswer {
  return { statusCode: response.status, body, headers: Object.fromEntries(response.headers) };
}

/** Form fields as Twilio's SDK sends them: arrays as repeated keys, nothing for undefined. */
function formPairs(fields: Record<string, unknown> | undefined): Array<[string, string]> {
  return Object.entries(fields ?? {}).flatMap(([key, value]) =>
    value === undefined || value === null
      ? []
      : (Array.isArray(value) ? value : [value]).map((v): [string, string] => [key, String(v)]),
  );
}

/** A page cursor: Twilio's page number and PageToken, from a `next_page_uri`. */
function cursorOf(nextPageUrl: string | undefined): string | null {
  if (!nextPageUrl) return null;
  const query = new URL(nextPageUrl, defaultBaseUrl).searchParams;
  const token = query.get('PageToken');
  return token ? `${query.get('Page') ?? '1'}:${token}` : null;
}

export const twilio: Integration = defineIntegration<Twilio>({
  name: 'twilio',
  title: 'Twilio',
  description:
    "Send and read SMS, and place phone calls that speak a message, on a Twilio account's numbers.",
  secrets: [
    {
      name: 'TWILIO_ACCOUNT_SID',
      description: 'the Twilio account SID (AC…), from the Twilio console',
    },
    {
      name: 'TWILIO_AUTH_TOKEN',
      description: "the account's auth token, from the Twilio console",
    },
  ],
  defaultBaseUrl,
  client: (secrets, settings) =>
    TwilioSDK(secrets.TWILIO_ACCOUNT_SID, secrets.TWILIO_AUTH_TOKEN, {
      // The SDK's types want its RequestClient; it calls only `request`.
      httpClient: httpClient(settings) as unknown as TwilioSDK.RequestClient,
      env: {},
    }),
  describeError(error) {
    const e = error as { status?: number; code?: number; message?: string; moreInfo?: string };
    if (typeof e.status !== 'number' || e.constructor?.name !== 'RestException') return undefined;
    if (e.status === 401 || e.code === 20003) {
      return `Twilio refused the credentials TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (401 ${e.code ?? ''} ${e.message ?? ''}): set valid ones with \`runtools secrets set TWILIO_ACCOUNT_SID\` and \`runtools secrets set TWILIO_AUTH_TOKEN\`.`;
    }
    if (e.status === 429 || e.code === 20429) {
      return `Twilio's rate limit was still exceeded after retrying (${e.code ?? 429} ${e.message ?? ''}); try again later.`;
    }
    return `Twilio answered ${e.status} (error ${e.code ?? 'without a code'}): ${e.message ?? ''}`;
  },
  actions: [
    action({
      name: 'send_sms',
      description:
        "Sends an SMS from one of the account's Twilio numbers. Returns the message SID and its status (queued, then sent and delivered).",
      input: z.object({
        to: phone('The recipient'),
        from,
        body: z.string().min(1).max(1600).describe('The text (long ones are sent in segments)'),
      }),
      approval: 'always',
      async run({ to, from, body }, { client }) {
        const m = await client.messages.create({ to, from, body });
        return {
          sid: m.sid,
          status: m.status,
          to: m.to,
          from: m.from,
          segments: Number(m.numSegments),
        };
      },
    }),
    action({
      name: 'list_messages',
      description:
        'Lists SMS the account sent and received, newest first, optionally only those to or from a number: SID, direction, from, to, text, status and date. Page with nextCursor.',
      input: z.object({
        to: phone('Only messages to this number').optional(),
        from: phone('Only messages from this number').optional(),
        limit: z.number().int().min(1).max(100).default(20),
        cursor: z
          .string()
          .regex(/^\d+:[A-Za-z0-9_-]+$/, 'the nextCursor of the previous page')
          .optional()
          .describe('nextCursor of the previous page'),
      }),
      async run({ to, from, limit, cursor }, { client }) {
        const [pageNumber, pageToken] = cursor ? cursor.split(':') : [];
        const page = await client.messages.page({
          pageSize: limit,
          ...(to ? { to } : {}),
          ...(from ? { from } : {}),
          ...(pageToken ? { pageToken, pageNumber: Number(pageNumber) } : {}),
        });
        return {
          messages: page.instances.map((m) => ({
            sid: m.sid,
            direction: m.direction,
            from: m.from,
            to: m.to,
            body: m.body,
            status: m.status,
            date: m.dateSent?.toISOString() ?? null,
          })),
          nextCursor: cursorOf(page.nextPageUrl),
        };
      },
    }),
    action({
      name: 'make_call',
      description:
        "Calls a phone number from one of the account's Twilio numbers and speaks a message (text-to-speech), then hangs up. Returns the call SID and status.",
      input: z.object({
        to: phone('The number to call'),
        from,
        message: z.string().min(1).max(4000).describe('What the call says'),
        voice: z
          .enum(['alice', 'man', 'woman'])
          .default('alice')
          .describe('The voice that speaks it'),
        language: z
          .string()
          .regex(/^[a-z]{2}-[A-Z]{2}$/, 'a language tag such as en-US')
          .default('en-US'),
      }),
      approval: 'always',
      async run({ to, from, message, voice, language }, { client }) {
        // TwiML built by the SDK, which escapes the text: it cannot add verbs of its own.
        const twiml = new TwilioSDK.twiml.VoiceResponse();
        twiml.say({ voice, language: language as 'en-US' }, message);
        const c = await client.calls.create({ to, from, twiml: twiml.toString() });
        return { sid: c.sid, status: c.status, to: c.to, from: c.from };
      },
    }),
  ],
});
