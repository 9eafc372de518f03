import { bodyFields, type FakeAnswer, FakeService, type ReceivedRequest } from './fake-service.ts';

export interface FakeGmailMessage {
  id: string;
  threadId: string;
  labelIds: string[];
  headers: Array<{ name: string; value: string }>;
  text: string;
  html?: string;
  internalDate: string;
}

/**
 * A loopback stand-in for the Gmail API (`https://gmail.googleapis.com/gmail/v1/users/me/…`) and
 * Google's OAuth token endpoint (`/token`), as documented: `Authorization: Bearer` with an
 * access token (401 UNAUTHENTICATED otherwise); JSON bodies; messages as `{ id, threadId,
 * labelIds, snippet, payload: { mimeType, headers, body: { data }, parts } }` with base64url
 * data; sent mail and drafts as `{ raw }` RFC 2822 in base64url; lists paged by `maxResults` and
 * `pageToken` → `nextPageToken`; errors as `{ error: { code, message, errors: [{ reason }],
 * status } }`; rate limits as 429 RESOURCE_EXHAUSTED or 403 `userRateLimitExceeded`
 * (`rateLimited()`); the token endpoint trades a refresh token (with the client's id and
 * secret) for an access token, and answers `invalid_grant` for a wrong one.
 */
export class FakeGmail extends FakeService {
  readonly accessTokens = new Set<string>();
  readonly refreshToken: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly messages: FakeGmailMessage[] = [];
  readonly drafts: Array<{ id: string; message: FakeGmailMessage }> = [];
  readonly #apiNext: Array<(request: ReceivedRequest) => FakeAnswer> = [];
  /** Consent codes, each usable once, with the redirect URI it was for. */
  readonly #codes = new Map<string, string>();
  /** The mailbox's address (`users.getProfile`). */
  readonly address = 'me@example.com';
  #next = 1;
  #clock = Date.UTC(2026, 0, 5, 9, 0, 0);

  constructor(options: {
    accessToken: string;
    refreshToken?: string;
    clientId?: string;
    clientSecret?: string;
  }) {
    super();
    this.accessTokens.add(options.accessToken);
    this.refreshToken = options.refreshToken ?? '';
    this.clientId = options.clientId ?? '';
    this.clientSecret = options.clientSecret ?? '';
    const me = '/gmail/v1/users/me';
    // Google's consent page: the person allows the app at once, as a test's browser would.
    this.on('GET', '/o/oauth2/v2/auth', (r) => {
      const redirect = r.query.get('redirect_uri') ?? '';
      if (r.query.get('client_id') !== this.clientId || !redirect) {
        return { status: 400, text: 'invalid_client' };
      }
      const code = `4/fake-code-${this.#next++}`;
      this.#codes.set(code, redirect);
      const to = new URL(redirect);
      to.searchParams.set('code', code);
      to.searchParams.set('state', r.query.get('state') ?? '');
      return { status: 302, headers: { location: to.toString() }, text: '' };
    });
    this.on('POST', '/token', (r) => this.#token(r));
    this.on('GET', `${me}/profile`, (r) =>
      this.#authed(r, () => ({
        json: {
          emailAddress: this.address,
          messagesTotal: this.messages.length,
          threadsTotal: 0,
          historyId: '1',
        },
      })),
    );
    this.on('GET', `${me}/messages`, (r) =>
      this.#authed(r, () => {
        const found = this.#search(r.query.get('q') ?? '');
        const max = Math.min(Number(r.query.get('maxResults') ?? 100) || 100, 500);
        const start = Number(r.query.get('pageToken') ?? 0);
        const slice = found.slice(start, start + max);
        return {
          json: {
            messages: slice.map((m) => ({ id: m.id, threadId: m.threadId })),
            ...(start + max < found.length ? { nextPageToken: String(start + max) } : {}),
            resultSizeEstimate: found.length,
          },
        };
      }),
    );
    this.on('GET', `${me}/messages/:id`, (r, p) =>
      this.#authed(r, () => {
        const m = this.messages.find((x) => x.id === p.id);
        return m ? { json: this.#messageJson(m, r.query.get('format') ?? 'full') } : notFound();
      }),
    );
    this.on('GET', `${me}/threads/:id`, (r, p) =>
      this.#authed(r, () => {
        const thread = this.messages.filter((m) => m.threadId === p.id).reverse();
        if (thread.length === 0) return notFound();
        const format = r.query.get('format') ?? 'full';
        return { json: { id: p.id, messages: thread.map((m) => this.#messageJson(m, format)) } };
      }),
    );
    this.on('POST', `${me}/messages/send`, (r) =>
      this.#authed(r, () => {
        const body = bodyFields(r) as { raw?: string; threadId?: string };
        const m = this.#fromRaw(body.raw, body.threadId, ['SENT']);
        if (!m) return badRequest('Invalid To header');
        this.messages.unshift(m);
        return { json: { id: m.id, threadId: m.threadId, labelIds: m.labelIds } };
      }),
    );
    this.on('POST', `${me}/drafts`, (r) =>
      this.#authed(r, () => {
        const body = bodyFields(r) as { message?: { raw?: string; threadId?: string } };
        const m = this.#fromRaw(body.message?.raw, body.message?.threadId, ['DRAFT']);
        if (!m) return badRequest('Invalid To header');
        const draft = { id: `r-${this.#next++}`, message: m };
        this.drafts.push(draft);
        return {
          json: { id: draft.id, message: { id: m.id, threadId: m.threadId, labelIds: m.labelIds } },
        };
      }),
    );
  }

  static async start(options: ConstructorParameters<typeof FakeGmail>[0]): Promise<FakeGmail> {
    return new FakeGmail(options).start();
  }

  /** A received message (in a new thread unless `threadId`); returns it. */
  addMessage(fields: {
    from: string;
    subject: string;
    text: string;
    html?: string;
    threadId?: string;
    unread?: boolean;
  }): FakeGmailMessage {
    const id = this.#id();
    const m: FakeGmailMessage = {
      id,
      threadId: fields.threadId ?? id,
      labelIds: ['INBOX', ...(fields.unread === false ? [] : ['UNREAD'])],
      headers: [
        { name: 'From', value: fields.from },
        { name: 'To', value: 'me@example.com' },
        { name: 'Subject', value: fields.subject },
        { name: 'Date', value: new Date(this.#tick()).toUTCString() },
        { name: 'Message-ID', value: `<${id}@mail.example.com>` },
      ],
      text: fields.text,
      ...(fields.html ? { html: fields.html } : {}),
      internalDate: String(this.#clock),
    };
    this.messages.unshift(m);
    return m;
  }

  /**
   * The next `times` requests are rate-limited as Gmail does: 429 "Too many concurrent requests
   * for user" (RESOURCE_EXHAUSTED, reason rateLimitExceeded), or 403 "User Rate Limit
   * Exceeded" (reason userRateLimitExceeded); Gmail asks for exponential backoff on both.
   */
  rateLimited(times = 1, status: 429 | 403 = 429): void {
    for (let i = 0; i < times; i++) {
      // The API's limit: the token endpoint is not counted.
      this.answerApiNext(
        status === 429
          ? googleError(
              429,
              'Too many concurrent requests for user',
              'rateLimitExceeded',
              'RESOURCE_EXHAUSTED',
            )
          : googleError(
              403,
              'User Rate Limit Exceeded',
              'userRateLimitExceeded',
              'PERMISSION_DENIED',
              'usageLimits',
            ),
      );
    }
  }

  /** The next authenticated API requests (not the token endpoint's) get these answers. */
  answerApiNext(...answers: Array<FakeAnswer | ((request: ReceivedRequest) => FakeAnswer)>): void {
    for (const answer of answers) {
      this.#apiNext.push(typeof answer === 'function' ? answer : () => answer);
    }
  }

  #token(request: ReceivedRequest): FakeAnswer {
    const f = bodyFields(request) as Record<string, string | undefined>;
    if (f.client_id !== this.clientId || f.client_secret !== this.clientSecret) {
      return {
        status: 401,
        json: { error: 'invalid_client', error_description: 'The OAuth client was not found.' },
      };
    }
    if (f.grant_type === 'authorization_code') {
      const redirect = this.#codes.get(f.code ?? '');
      if (redirect === undefined || redirect !== f.redirect_uri) {
        return {
          status: 400,
          json: { error: 'invalid_grant', error_description: 'Malformed auth code.' },
        };
      }
      this.#codes.delete(f.code ?? '');
      const access = `ya29.consent-${this.#next++}-${'x'.repeat(20)}`;
      this.accessTokens.add(access);
      return {
        json: {
          access_token: access,
          refresh_token: this.refreshToken,
          expires_in: 3599,
          scope: 'https://www.googleapis.com/auth/gmail.modify',
          token_type: 'Bearer',
        },
      };
    }
    if (
      f.grant_type !== 'refresh_token' ||
      !this.refreshToken ||
      f.refresh_token !== this.refreshToken
    ) {
      return {
        status: 400,
        json: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' },
      };
    }
    const token = `ya29.fresh-${this.#next++}-${'x'.repeat(20)}`;
    this.accessTokens.add(token);
    return {
      json: {
        access_token: token,
        expires_in: 3599,
        scope: 'https://www.googleapis.com/auth/gmail.modify',
        token_type: 'Bearer',
      },
    };
  }

  #authed(request: ReceivedRequest, handle: () => FakeAnswer): FakeAnswer {
    const auth = String(request.headers.authorization ?? '');
    if (!auth.startsWith('Bearer ') || !this.accessTokens.has(auth.slice(7))) {
      return {
        ...googleError(
          401,
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
          'authError',
          'UNAUTHENTICATED',
        ),
        headers: {
          'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"',
        },
      };
    }
    return this.#apiNext.shift()?.(request) ?? handle();
  }

  #search(q: string): FakeGmailMessage[] {
    const terms = q.split(/\s+/).filter((t) => t !== '');
    return this.messages.filter((m) =>
      terms.every((term) => {
        const [key, value] = term.includes(':') ? term.split(/:(.*)/s) : ['', term];
        const header = (name: string) =>
          m.headers.find((h) => h.name.toLowerCase() === name)?.value.toLowerCase() ?? '';
        const v = (value ?? '').toLowerCase();
        if (key === 'from' || key === 'to' || key === 'subject') return header(key).includes(v);
        if (key === 'is') return m.labelIds.includes(v.toUpperCase());
        if (key === 'in') return m.labelIds.includes(v.toUpperCase());
        return `${header('subject')} ${m.text}`.toLowerCase().includes(term.toLowerCase());
      }),
    );
  }

  #messageJson(m: FakeGmailMessage, format: string) {
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    const full = format === 'full';
    const payload = m.html
      ? {
          mimeType: 'multipart/alternative',
          headers: m.headers,
          body: { size: 0 },
          parts: full
            ? [
                {
                  partId: '0',
                  mimeType: 'text/plain',
                  headers: [],
                  body: { size: m.text.length, data: b64(m.text) },
                },
                {
                  partId: '1',
                  mimeType: 'text/html',
                  headers: [],
                  body: { size: m.html.length, data: b64(m.html) },
                },
              ]
            : undefined,
        }
      : {
          mimeType: 'text/plain',
          headers: m.headers,
          body: full ? { size: m.text.length, data: b64(m.text) } : { size: m.text.length },
        };
    return {
      id: m.id,
      threadId: m.threadId,
      labelIds: m.labelIds,
      snippet: m.text.slice(0, 100),
      internalDate: m.internalDate,
      sizeEstimate: m.text.length,
      payload,
    };
  }

  /** A message from RFC 2822 in base64url; undefined without a To header. */
  #fromRaw(raw: string | undefined, threadId: string | undefined, labels: string[]) {
    if (!raw) return undefined;
    const text = Buffer.from(raw, 'base64url').toString('utf8');
    const [head = '', ...rest] = text.split('\r\n\r\n');
    const headers = head
      .replace(/\r\n[ \t]/g, ' ')
      .split('\r\n')
      .map((line) => {
        const at = line.indexOf(':');
        return { name: line.slice(0, at), value: line.slice(at + 1).trim() };
      });
    if (!headers.some((h) => h.name.toLowerCase() === 'to' && h.value !== '')) return undefined;
    const bodyText = rest.join('\r\n\r\n');
    const base64 = headers.some(
      (h) => h.name.toLowerCase() === 'content-transfer-encoding' && /base64/i.test(h.value),
    );
    const id = this.#id();
    const m: FakeGmailMessage = {
      id,
      threadId: threadId ?? id,
      labelIds: labels,
      headers,
      text: base64
        ? Buffer.from(bodyText.replace(/\s+/g, ''), 'base64').toString('utf8')
        : bodyText,
      internalDate: String(this.#tick()),
    };
    return m;
  }

  #id(): string {
    return (0x18c0000000 + this.#next++).toString(16);
  }

  #tick(): number {
    this.#clock += 60_000;
    return this.#clock;
  }
}

function googleError(
  code: number,
  message: string,
  reason: string,
  status: string,
  domain = 'global',
): FakeAnswer {
  return {
    status: code,
    json: { error: { code, message, errors: [{ message, domain, reason }], status } },
  };
}

function notFound(): FakeAnswer {
  return googleError(404, 'Requested entity was not found.', 'notFound', 'NOT_FOUND');
}

function badRequest(message: string): FakeAnswer {
  return googleError(400, message, 'invalidArgument', 'INVALID_ARGUMENT');
}
