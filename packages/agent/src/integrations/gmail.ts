import { auth, type gmail_v1, gmail as gmailClient } from '@googleapis/gmail';
import { z } from 'zod';
import { actionsFor, defineIntegration, type Integration } from './integration.ts';

type Gmail = gmail_v1.Gmail;
const action = actionsFor<Gmail>();

const defaultBaseUrl = 'https://gmail.googleapis.com';
const googleTokenUrl = 'https://oauth2.googleapis.com/token';
/** Retries of a rate-limited request; Gmail asks for exponential backoff (here 0.5 s, then 1 s). */
const rateLimitRetries = 2;
const maxBodyChars = 20_000;
const rateLimitReasons = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);

const messageId = z
  .string()
  .regex(/^[0-9a-zA-Z]{6,64}$/, 'a Gmail message ID (search_emails gives them)')
  .describe('A Gmail message ID (search_emails gives them)');
const threadId = z
  .string()
  .regex(/^[0-9a-zA-Z]{6,64}$/, 'a Gmail thread ID (search_emails gives them)')
  .describe('A Gmail thread ID (search_emails gives them)');
const addresses = z.array(z.email()).max(50);
const headerText = z.string().regex(/^[^\r\n]*$/, 'one line');
const mail = z.object({
  to: addresses.min(1).describe('Recipients'),
  cc: addresses.optional(),
  bcc: addresses.optional(),
  subject: headerText
    .max(500)
    .describe('Subject (default for a reply: "Re: " and the original)')
    .optional(),
  body: z.string().min(1).max(100_000).describe('Plain-text body'),
  replyTo: messageId
    .optional()
    .describe('The message ID this answers: the mail goes into its thread, as a reply'),
});
type Mail = z.infer<typeof mail>;

type GoogleError = {
  status?: number;
  config?: { signal?: AbortSignal; retryConfig?: { currentRetryAttempt?: number } };
  response?: {
    status?: number;
    data?: {
      error?:
        | string
        | { code?: number; message?: string; status?: string; errors?: Array<{ reason?: string }> };
      error_description?: string;
    };
  };
};

/** Gmail's rate limits: 429, or 403 with reason rateLimitExceeded or userRateLimitExceeded. */
function isRateLimit(error: GoogleError): boolean {
  const status = error.response?.status;
  const body = error.response?.data?.error;
  const reasons = typeof body === 'object' ? (body.errors ?? []).map((e) => e.reason) : [];
  return status === 429 || (status === 403 && reasons.some((r) => rateLimitReasons.has(r ?? '')));
}

/** An RFC 2047 encoded word for a header that is not ASCII. */
function encodeHeader(value: string): string {
  return /^[\x20-\x7e]*$/.test(value)
    ? value
    : `=?UTF-8?B?${Buffer.from(value).toString('base64')}?=`;
}

/** The mail as RFC 2822 in base64url, which is what Gmail's send and drafts take as `raw`. */
function rawMessage(m: Mail, subject: string, reply?: { messageId: string; references: string }) {
  const lines = [
    `To: ${m.to.join(', ')}`,
    ...(m.cc?.length ? [`Cc: ${m.cc.join(', ')}`] : []),
    ...(m.bcc?.length ? [`Bcc: ${m.bcc.join(', ')}`] : []),
    `Subject: ${encodeHeader(subject)}`,
    ...(reply
      ? [`In-Reply-To: ${reply.messageId}`, `References: ${reply.references}`.trimEnd()]
      : []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=UTF-8',
    'Content-Transfer-Encoding: base64',
    '',
    (
      Buffer.from(m.body)
        .toString('base64')
        .match(/.{1,76}/g) ?? []
    ).join('\r\n'),
  ];
  return Buffer.from(lines.join('\r\n')).toString('base64url');
}

function header(m: gmail_v1.Schema$Message, name: string): string | null {
  const h = m.payload?.headers?.find((x) => x.name?.toLowerCase() === name.toLowerCase());
  return h?.value ?? null;
}

/** The message's text: its text/plain part, else its HTML without the markup. */
function bodyText(part: gmail_v1.Schema$MessagePart | undefined): string {
  const find = (p: gmail_v1.Schema$MessagePart | undefined, type: string): string | undefined => {
    if (!p) return undefined;
    if (p.mimeType === type && p.body?.data)
      return Buffer.from(p.body.data, 'base64url').toString('utf8');
    for (const child of p.parts ?? []) {
      const found = find(child, type);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  const text =
    find(part, 'text/plain') ??
    find(part, 'text/html')
      ?.replace(/<(style|script)[\s\S]*?<\/\1>/gi, '')
      .replace(/<[^>]+>/g, ' ')
      .replace(/[ \t]+/g, ' ')
      .trim() ??
    '';
  return text.length > maxBodyChars
    ? `${text.slice(0, maxBodyChars)}\n… (${text.length - maxBodyChars} more characters cut)`
    : text;
}

function summary(m: gmail_v1.Schema$Message) {
  return {
    id: m.id,
    threadId: m.threadId,
    from: header(m, 'From'),
    to: header(m, 'To'),
    subject: header(m, 'Subject'),
    date: m.internalDate ? new Date(Number(m.internalDate)).toISOString() : header(m, 'Date'),
    unread: m.labelIds?.includes('UNREAD') ?? false,
    labels: m.labelIds ?? [],
    snippet: m.snippet ?? '',
  };
}

function readable(m: gmail_v1.Schema$Message) {
  const { snippet: _, ...rest } = summary(m);
  return { ...rest, cc: header(m, 'Cc'), text: bodyText(m.payload) };
}

/** The subject, thread and reply headers of a mail, reading the message it answers. */
async function prepare(client: Gmail, m: Mail) {
  if (!m.replyTo) return { raw: rawMessage(m, m.subject ?? '') };
  const original = (
    await client.users.messages.get({
      userId: 'me',
      id: m.replyTo,
      format: 'metadata',
      metadataHeaders: ['Subject', 'Message-ID', 'References'],
    })
  ).data;
  const originalSubject = header(original, 'Subject') ?? '';
  const subject =
    m.subject ?? (/^re:/i.test(originalSubject) ? originalSubject : `Re: ${originalSubject}`);
  const id = header(original, 'Message-ID');
  const raw = rawMessage(
    m,
    subject,
    id
      ? { messageId: id, references: `${header(original, 'References') ?? ''} ${id}`.trim() }
      : undefined,
  );
  return { raw, threadId: original.threadId ?? undefined };
}

export const gmail: Integration = defineIntegration<Gmail>({
  name: 'gmail',
  title: 'Gmail',
  description: 'Search, read, send and draft email in a Gmail or Google Workspace mailbox.',
  secrets: [
    {
      name: 'GMAIL_ACCESS_TOKEN',
      description:
        'an OAuth access token (ya29.…) with the scope gmail.modify (or gmail.send, gmail.readonly and gmail.compose); it expires within the hour, so prefer a refresh token',
      optional: true,
    },
    {
      name: 'GMAIL_REFRESH_TOKEN',
      description:
        'an OAuth refresh token of the mailbox for the client GMAIL_CLIENT_ID, from which each call gets an access token',
      optional: true,
    },
    {
      name: 'GMAIL_CLIENT_ID',
      description:
        'the OAuth client ID (….apps.googleusercontent.com) the refresh token was issued to',
      optional: true,
    },
    {
      name: 'GMAIL_CLIENT_SECRET',
      description: "that OAuth client's secret",
      optional: true,
    },
  ],
  configured: (isSet) =>
    isSet('GMAIL_ACCESS_TOKEN') ||
    (isSet('GMAIL_REFRESH_TOKEN') && isSet('GMAIL_CLIENT_ID') && isSet('GMAIL_CLIENT_SECRET')),
  defaultBaseUrl,
  oauth: {
    clientIdSecret: 'GMAIL_CLIENT_ID',
    clientSecretSecret: 'GMAIL_CLIENT_SECRET',
    authorizeUrl: (baseUrl) =>
      baseUrl === undefined
        ? 'https://accounts.google.com/o/oauth2/v2/auth'
        : `${baseUrl.replace(/\/+$/, '')}/o/oauth2/v2/auth`,
    scopes: ['https://www.googleapis.com/auth/gmail.modify'],
    // A refresh token comes only with offline access, and again only on a fresh consent.
    params: { access_type: 'offline', prompt: 'consent' },
    async exchange({ code, redirectUri, clientId, clientSecret }, { baseUrl, fetch }) {
      const root = baseUrl.replace(/\/+$/, '');
      const oauth = new auth.OAuth2({
        clientId,
        clientSecret,
        redirectUri,
        endpoints: { oauth2TokenUrl: root === defaultBaseUrl ? googleTokenUrl : `${root}/token` },
        transporterOptions: { fetchImplementation: fetch },
      });
      const { tokens } = await oauth.getToken(code);
      if (!tokens.refresh_token) {
        throw new Error('Google answered the code without a refresh token (offline access).');
      }
      oauth.setCredentials(tokens);
      const profile = await gmailClient({
        version: 'v1',
        auth: oauth,
        rootUrl: `${root}/`,
        fetchImplementation: fetch,
      }).users.getProfile({ userId: 'me' });
      return {
        // The refresh token only: each call gets a fresh access token from it.
        secrets: { GMAIL_REFRESH_TOKEN: tokens.refresh_token },
        account: profile.data.emailAddress ?? 'the mailbox',
      };
    },
  },
  client(secrets, { baseUrl, fetch, obtained }) {
    const refresh =
      secrets.GMAIL_REFRESH_TOKEN && secrets.GMAIL_CLIENT_ID && secrets.GMAIL_CLIENT_SECRET;
    if (!secrets.GMAIL_ACCESS_TOKEN && !refresh) {
      throw new Error(
        'Gmail needs GMAIL_REFRESH_TOKEN with GMAIL_CLIENT_ID and GMAIL_CLIENT_SECRET (or a short-lived GMAIL_ACCESS_TOKEN), which are not set: set them with `runtools secrets set GMAIL_REFRESH_TOKEN` (and the others).',
      );
    }
    const root = baseUrl.replace(/\/+$/, '');
    const oauth = new auth.OAuth2({
      ...(refresh
        ? { clientId: secrets.GMAIL_CLIENT_ID, clientSecret: secrets.GMAIL_CLIENT_SECRET }
        : {}),
      // With the operator's own API URL (a test's fake), its /token stands in for Google's.
      endpoints: { oauth2TokenUrl: root === defaultBaseUrl ? googleTokenUrl : `${root}/token` },
      transporterOptions: { fetchImplementation: fetch },
    });
    oauth.on('tokens', (tokens) => {
      if (tokens.access_token) obtained('GMAIL_REFRESHED_ACCESS_TOKEN', tokens.access_token);
    });
    // Without an access token the first request gets one from the refresh token; with one, a
    // 401 (it expired) refreshes it once, when there is a refresh token.
    oauth.setCredentials({
      ...(secrets.GMAIL_ACCESS_TOKEN ? { access_token: secrets.GMAIL_ACCESS_TOKEN } : {}),
      ...(refresh ? { refresh_token: secrets.GMAIL_REFRESH_TOKEN } : {}),
    });
    return gmailClient({
      version: 'v1',
      auth: oauth,
      rootUrl: `${root}/`,
      fetchImplementation: fetch,
      retryConfig: {
        retry: rateLimitRetries,
        retryDelay: 500,
        retryDelayMultiplier: 3,
        httpMethodsToRetry: ['GET', 'POST'],
        // Only Gmail's rate limits: a send is not repeated after an error that may have sent it.
        shouldRetry: (error) => {
          const e = error as GoogleError;
          return (
            !e.config?.signal?.aborted &&
            isRateLimit(e) &&
            (e.config?.retryConfig?.currentRetryAttempt ?? 0) < rateLimitRetries
          );
        },
      },
    });
  },
  describeError(error) {
    const e = error as GoogleError;
    const data = e.response?.data;
    const status = e.response?.status ?? e.status;
    if (status === undefined || data === undefined) return undefined;
    // Not Google's JSON (a proxy's page): its text, whose credentials are then masked.
    if (typeof data !== 'object' || data === null) {
      return `Gmail answered ${status}: ${String(data).slice(0, 500)}`;
    }
    if (typeof data.error === 'string') {
      return `Google refused the refresh token GMAIL_REFRESH_TOKEN or the client GMAIL_CLIENT_ID/GMAIL_CLIENT_SECRET (${status} ${data.error}: ${data.error_description ?? ''}): connect the mailbox again and set them with \`runtools secrets set\`.`;
    }
    const body = data.error;
    const reason = body?.errors?.[0]?.reason;
    if (status === 401) {
      return `Gmail refused the access token (401 ${body?.status ?? ''}): GMAIL_ACCESS_TOKEN is expired or revoked; set GMAIL_REFRESH_TOKEN, GMAIL_CLIENT_ID and GMAIL_CLIENT_SECRET so tokens are refreshed (\`runtools secrets set GMAIL_REFRESH_TOKEN\`).`;
    }
    if (isRateLimit(e)) {
      return `Gmail's rate limit was still exceeded after retrying (${status} ${reason ?? ''}: ${body?.message ?? ''}); try again later.`;
    }
    return `Gmail answered ${status}${reason ? ` ${reason}` : ''}: ${body?.message ?? ''}`;
  },
  actions: [
    action({
      name: 'search_emails',
      description:
        'Searches the mailbox with Gmail search syntax (e.g. "from:alice@example.com is:unread newer_than:7d", "subject:invoice has:attachment"), newest first: ID, thread ID, from, to, subject, date, unread and a snippet of each. Page with nextPageToken.',
      input: z.object({
        query: z.string().max(500).default('in:inbox').describe('Gmail search query'),
        maxResults: z.number().int().min(1).max(25).default(10),
        pageToken: z.string().max(200).optional().describe('nextPageToken of the previous page'),
      }),
      async run({ query, maxResults, pageToken }, { client }) {
        const list = await client.users.messages.list({
          userId: 'me',
          q: query,
          maxResults,
          ...(pageToken ? { pageToken } : {}),
        });
        const messages = [];
        // One at a time: Gmail limits concurrent requests per mailbox.
        for (const { id } of list.data.messages ?? []) {
          if (!id) continue;
          const m = await client.users.messages.get({
            userId: 'me',
            id,
            format: 'metadata',
            metadataHeaders: ['From', 'To', 'Subject', 'Date'],
          });
          messages.push(summary(m.data));
        }
        return {
          messages,
          resultSizeEstimate: list.data.resultSizeEstimate ?? messages.length,
          nextPageToken: list.data.nextPageToken ?? null,
        };
      },
    }),
    action({
      name: 'read_message',
      description:
        'Reads one email: from, to, cc, subject, date, labels and its text (the plain-text part, else the HTML as text; up to 20,000 characters).',
      input: z.object({ id: messageId }),
      async run({ id }, { client }) {
        const m = await client.users.messages.get({ userId: 'me', id, format: 'full' });
        return readable(m.data);
      },
    }),
    action({
      name: 'read_thread',
      description:
        "Reads a conversation: each of the thread's messages oldest first, with from, to, subject, date and text.",
      input: z.object({ id: threadId }),
      async run({ id }, { client }) {
        const t = await client.users.threads.get({ userId: 'me', id, format: 'full' });
        return { id: t.data.id, messages: (t.data.messages ?? []).map(readable) };
      },
    }),
    action({
      name: 'send_email',
      description:
        'Sends a plain-text email from the mailbox, or a reply in the thread of a message (replyTo). Returns the sent message and thread IDs.',
      input: mail,
      approval: 'always',
      async run(input, { client }) {
        const { raw, threadId } = await prepare(client, input);
        const r = await client.users.messages.send({
          userId: 'me',
          requestBody: { raw, ...(threadId ? { threadId } : {}) },
        });
        return { id: r.data.id, threadId: r.data.threadId, labels: r.data.labelIds ?? [] };
      },
    }),
    action({
      name: 'create_draft',
      description:
        'Saves a plain-text email (or a reply to a message, replyTo) as a draft for a person to review and send. Returns the draft ID.',
      input: mail,
      async run(input, { client }) {
        const { raw, threadId } = await prepare(client, input);
        const r = await client.users.drafts.create({
          userId: 'me',
          requestBody: { message: { raw, ...(threadId ? { threadId } : {}) } },
        });
        return {
          draftId: r.data.id,
          messageId: r.data.message?.id,
          threadId: r.data.message?.threadId,
        };
      },
    }),
  ],
});
