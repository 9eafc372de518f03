import { bodyFields, type FakeAnswer, FakeService, type ReceivedRequest } from './fake-service.ts';

interface FakeMessage {
  ts: string;
  user: string;
  text: string;
  thread_ts?: string;
  reply_count?: number;
}

/**
 * A loopback stand-in for the Slack Web API (`https://slack.com/api/METHOD`), as documented:
 * `POST` with a form or JSON body and the token as `Authorization: Bearer xoxb-…`; every answer
 * HTTP 200 with `{ ok: true, … }` or `{ ok: false, error: 'invalid_auth' | 'channel_not_found'
 * | … }`; cursor pagination (`limit`, `cursor` → `response_metadata.next_cursor`); rate limits
 * as HTTP 429 with `Retry-After` seconds (`rateLimited()`). Channels `C0GENERAL` (#general) and
 * `C0RANDOM` (#random); users `U0ALICE` (alice@example.com) and `U0BOB`.
 */
export class FakeSlack extends FakeService {
  readonly token: string;
  readonly channels = new Map<
    string,
    { id: string; name: string; topic: string; messages: FakeMessage[] }
  >([
    ['C0GENERAL', { id: 'C0GENERAL', name: 'general', topic: 'Company-wide', messages: [] }],
    ['C0RANDOM', { id: 'C0RANDOM', name: 'random', topic: 'Anything', messages: [] }],
  ]);
  readonly users = [
    {
      id: 'U0ALICE',
      name: 'alice',
      real_name: 'Alice Doe',
      email: 'alice@example.com',
      tz: 'Europe/Berlin',
    },
    {
      id: 'U0BOB',
      name: 'bob',
      real_name: 'Bob Roe',
      email: 'bob@example.com',
      tz: 'America/New_York',
    },
  ];
  #clock = 1_712_000_000;
  /** The OAuth app a workspace admin installs (`oauth.v2.access` checks it). */
  readonly oauthClient = { id: 'fake-slack-client-id', secret: 'fake-slack-client-secret' };
  /**
   * With token rotation (`rotate(seconds)`): the bot tokens given out and when each expires, and
   * the refresh token that renews the current one.
   */
  readonly #rotating = new Map<string, number>();
  #rotationSeconds = 0;
  #refreshToken = '';
  /** Codes the consent page gave out, each usable once, with the redirect URI it was for. */
  readonly #codes = new Map<string, string>();

  constructor(token: string) {
    super();
    this.token = token;
    // The consent page: the person approves at once, as a test's browser would.
    this.on('GET', '/oauth/v2/authorize', (r) => {
      const redirect = r.query.get('redirect_uri') ?? '';
      if (r.query.get('client_id') !== this.oauthClient.id || !redirect) {
        return { status: 400, text: 'invalid_client_id' };
      }
      const code = `fake-code-${this.#clock++}`;
      this.#codes.set(code, redirect);
      const to = new URL(redirect);
      to.searchParams.set('code', code);
      to.searchParams.set('state', r.query.get('state') ?? '');
      return { status: 302, headers: { location: to.toString() }, text: '' };
    });
    this.on('POST', '/api/:method', (r, p) => this.#call(r, p.method ?? ''));
  }

  static async start(token: string): Promise<FakeSlack> {
    return new FakeSlack(token).start();
  }

  /** The API's base URL, as `slackApiUrl` takes it. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /** From now on the OAuth flow gives out bot tokens that expire after `seconds`, with refresh tokens. */
  rotate(seconds: number): void {
    this.#rotationSeconds = seconds;
  }

  /** A new expiring bot token and the refresh token that renews it (the old one is spent). */
  #rotatedToken(): { access_token: string; refresh_token: string; expires_in: number } {
    const n = this.#clock++;
    const access = `xoxe.xoxb-1-rotated-${n}`;
    this.#rotating.set(access, Date.now() + this.#rotationSeconds * 1000);
    this.#refreshToken = `xoxe-1-refresh-${n}`;
    return {
      access_token: access,
      refresh_token: this.#refreshToken,
      expires_in: this.#rotationSeconds,
    };
  }

  /** Posts a message as a user (for history tests); returns its ts. */
  addMessage(channel: string, user: string, text: string): string {
    const ts = `${this.#clock++}.000100`;
    this.channels.get(channel)?.messages.unshift({ ts, user, text });
    return ts;
  }

  /** The next `times` calls answer HTTP 429 with `Retry-After: seconds`. */
  rateLimited(times = 1, seconds = 1): void {
    for (let i = 0; i < times; i++) {
      this.answerNext({
        status: 429,
        headers: { 'retry-after': String(seconds) },
        json: { ok: false, error: 'ratelimited' },
      });
    }
  }

  #call(request: ReceivedRequest, method: string): FakeAnswer {
    const fields = bodyFields(request) as Record<string, string | undefined>;
    if (method === 'oauth.v2.access') {
      // The client authenticates with its id and secret (form fields, or HTTP Basic).
      const basic = String(request.headers.authorization ?? '');
      const [id, secret] = basic.startsWith('Basic ')
        ? Buffer.from(basic.slice(6), 'base64').toString().split(':')
        : [fields.client_id, fields.client_secret];
      if (id !== this.oauthClient.id || secret !== this.oauthClient.secret) {
        return fail('invalid_client_id');
      }
      if (fields.grant_type === 'refresh_token') {
        if (!this.#refreshToken || fields.refresh_token !== this.#refreshToken) {
          return fail('invalid_refresh_token');
        }
        return ok({
          ...this.#rotatedToken(),
          token_type: 'bot',
          team: { id: 'T0FAKE', name: 'Fake Workspace' },
        });
      }
      const redirect = this.#codes.get(fields.code ?? '');
      if (redirect === undefined) return fail('invalid_code');
      if (fields.redirect_uri !== redirect) return fail('bad_redirect_uri');
      this.#codes.delete(fields.code ?? '');
      return ok({
        app_id: 'A0FAKE',
        ...(this.#rotationSeconds > 0 ? this.#rotatedToken() : { access_token: this.token }),
        token_type: 'bot',
        scope: 'chat:write,channels:read',
        bot_user_id: 'U0BOT',
        team: { id: 'T0FAKE', name: 'Fake Workspace' },
        authed_user: { id: 'U0ALICE' },
      });
    }
    const auth = String(request.headers.authorization ?? '');
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : fields.token;
    if (token === undefined || token === '') return fail('not_authed');
    const expires = this.#rotating.get(token);
    if (expires !== undefined && expires < Date.now()) return fail('token_expired');
    if (token !== this.token && expires === undefined) return fail('invalid_auth');
    switch (method) {
      case 'auth.test':
        return ok({
          url: 'https://fake.slack.com/',
          team: 'Fake',
          user: 'runtools',
          user_id: 'U0BOT',
        });
      case 'chat.postMessage': {
        const channel = this.#channel(fields.channel);
        if (!channel) return fail('channel_not_found');
        if (!fields.text) return fail('no_text');
        const ts = `${this.#clock++}.000200`;
        const message: FakeMessage = { ts, user: 'U0BOT', text: fields.text };
        if (fields.thread_ts) {
          const parent = channel.messages.find((m) => m.ts === fields.thread_ts);
          if (!parent) return fail('thread_not_found');
          message.thread_ts = fields.thread_ts;
          parent.thread_ts = parent.ts;
          parent.reply_count = (parent.reply_count ?? 0) + 1;
        }
        if (!fields.thread_ts || fields.reply_broadcast === 'true')
          channel.messages.unshift(message);
        return ok({ channel: channel.id, ts, message: { ...message, type: 'message' } });
      }
      case 'conversations.history': {
        const channel = this.#channel(fields.channel);
        if (!channel) return fail('channel_not_found');
        const oldest = Number(fields.oldest ?? 0);
        return page(
          channel.messages.filter((m) => Number(m.ts) > oldest),
          fields,
          'messages',
          100,
        );
      }
      case 'conversations.list': {
        const list = [...this.channels.values()].map((c) => ({
          id: c.id,
          name: c.name,
          is_channel: true,
          is_private: false,
          is_archived: false,
          num_members: 2,
          topic: { value: c.topic },
        }));
        return page(list, fields, 'channels', 1000);
      }
      case 'users.lookupByEmail': {
        const user = this.users.find((u) => u.email === fields.email);
        return user ? ok({ user: this.#userJson(user) }) : fail('users_not_found');
      }
      case 'users.info': {
        const user = this.users.find((u) => u.id === fields.user);
        return user ? ok({ user: this.#userJson(user) }) : fail('user_not_found');
      }
      default:
        return fail('unknown_method');
    }
  }

  #channel(idOrName: string | undefined) {
    if (!idOrName) return undefined;
    return (
      this.channels.get(idOrName) ??
      [...this.channels.values()].find((c) => c.name === idOrName.replace(/^#/, ''))
    );
  }

  #userJson(u: (typeof this.users)[number]) {
    return {
      id: u.id,
      name: u.name,
      real_name: u.real_name,
      tz: u.tz,
      is_bot: false,
      profile: { real_name: u.real_name, display_name: u.name, email: u.email },
    };
  }
}

function ok(fields: Record<string, unknown>): FakeAnswer {
  return { json: { ok: true, ...fields } };
}

/** Slack's errors are HTTP 200 with `ok: false` and a code. */
function fail(error: string): FakeAnswer {
  return { json: { ok: false, error } };
}

/** Cursor pagination: the cursor is the next item's index, base64 as Slack's are opaque. */
function page<T>(
  items: T[],
  fields: Record<string, string | undefined>,
  key: string,
  max: number,
): FakeAnswer {
  const limit = Math.min(Number(fields.limit ?? max) || max, max);
  const start = fields.cursor ? Number(Buffer.from(fields.cursor, 'base64').toString()) : 0;
  const slice = items.slice(start, start + limit);
  const more = start + limit < items.length;
  return ok({
    [key]: slice,
    has_more: more,
    response_metadata: {
      next_cursor: more ? Buffer.from(String(start + limit)).toString('base64') : '',
    },
  });
}
