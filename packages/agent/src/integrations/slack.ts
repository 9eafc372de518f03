import { LogLevel, WebClient } from '@slack/web-api';
import { z } from 'zod';
import { actionsFor, defineIntegration, type Integration } from './integration.ts';

const action = actionsFor<WebClient>();

const silent = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  setLevel() {},
  getLevel: () => LogLevel.ERROR,
  setName() {},
};

const channel = z
  .string()
  .regex(/^#?[A-Za-z0-9._-]{1,80}$/, 'a channel ID such as C0123456789, or a name such as #general')
  .describe('Channel ID (C0123456789) or name (#general)');
const channelId = z
  .string()
  .regex(/^[A-Z0-9]{2,40}$/, 'a channel ID such as C0123456789 (list_channels gives them)')
  .describe('Channel ID, e.g. C0123456789 (list_channels gives them)');
const messageTs = z
  .string()
  .regex(/^\d+\.\d+$/, 'a message timestamp such as 1712345678.000100')
  .describe('A message ts, e.g. 1712345678.000100');
const text = z.string().min(1).max(40_000).describe('Message text (Slack mrkdwn)');
const cursor = z.string().max(500).optional().describe('nextCursor of the previous page');

/** Slack's errors that mean the token itself is refused. */
const authErrors = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
]);

/** What `oauth.v2.access` answers: a bot token, and with token rotation its refresh token. */
interface RotatingToken {
  access_token?: string;
  refresh_token?: string;
  expires_in?: number;
}

/** The secrets a token answer stands for (the refresh token and expiry only with rotation). */
function tokenSecrets(r: RotatingToken): Record<string, string> {
  return {
    SLACK_BOT_TOKEN: r.access_token as string,
    ...(r.refresh_token && r.expires_in
      ? {
          SLACK_REFRESH_TOKEN: r.refresh_token,
          SLACK_TOKEN_EXPIRES_AT: new Date(Date.now() + r.expires_in * 1000).toISOString(),
        }
      : {}),
  };
}

function nextCursor(r: { response_metadata?: { next_cursor?: string } }): string | null {
  return r.response_metadata?.next_cursor || null;
}

export const slack: Integration = defineIntegration<WebClient>({
  name: 'slack',
  title: 'Slack',
  description: 'Post to and read Slack channels as a bot, and look up people in the workspace.',
  secrets: [
    {
      name: 'SLACK_REFRESH_TOKEN',
      description:
        "with an app that rotates its tokens: the refresh token (xoxe-1-…) `runtools tools connect slack` stores; expired bot tokens are renewed with it and the app's SLACK_CLIENT_ID and SLACK_CLIENT_SECRET",
      optional: true,
    },
    {
      name: 'SLACK_TOKEN_EXPIRES_AT',
      description: 'when the rotating bot token expires',
      optional: true,
    },
    {
      name: 'SLACK_CLIENT_ID',
      description: "the Slack app's client ID (for connecting and rotation)",
      optional: true,
    },
    { name: 'SLACK_CLIENT_SECRET', description: "the Slack app's client secret", optional: true },
    {
      name: 'SLACK_BOT_TOKEN',
      description:
        'the bot token of a Slack app installed in the workspace (xoxb-…), with chat:write, channels:read, channels:history and users:read (users:read.email to look people up by email)',
    },
  ],
  defaultBaseUrl: 'https://slack.com/api/',
  oauth: {
    clientIdSecret: 'SLACK_CLIENT_ID',
    clientSecretSecret: 'SLACK_CLIENT_SECRET',
    authorizeUrl: (baseUrl) =>
      new URL('/oauth/v2/authorize', baseUrl ?? 'https://slack.com/').toString(),
    scopes: ['chat:write', 'channels:read', 'channels:history', 'users:read', 'users:read.email'],
    async exchange({ code, redirectUri, clientId, clientSecret }, { baseUrl, fetch }) {
      const client = new WebClient(undefined, {
        slackApiUrl: baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`,
        fetch,
        logger: silent,
        allowAbsoluteUrls: false,
      });
      const r = (await client.oauth.v2.access({
        client_id: clientId,
        client_secret: clientSecret,
        code,
        redirect_uri: redirectUri,
      })) as RotatingToken & { team?: { name?: string; id?: string } };
      if (!r.access_token) throw new Error('Slack answered the code without a bot token.');
      return {
        secrets: tokenSecrets(r),
        account: `workspace ${r.team?.name ?? r.team?.id ?? '(unnamed)'}`,
      };
    },
  },
  client: (secrets, { baseUrl, fetch }) =>
    new WebClient(secrets.SLACK_BOT_TOKEN, {
      slackApiUrl: baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`,
      fetch,
      logger: silent,
      // Only the configured API: a method name is never a URL elsewhere.
      allowAbsoluteUrls: false,
      // A 429 waits for its Retry-After (the client does), then retries: twice at most.
      retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2000 },
    }),
  // An app with token rotation: an expired (or nearly expired) bot token is renewed first.
  async refresh(secrets, { baseUrl, fetch }) {
    const expiresAt = Date.parse(secrets.SLACK_TOKEN_EXPIRES_AT ?? '');
    if (
      !secrets.SLACK_REFRESH_TOKEN ||
      Number.isNaN(expiresAt) ||
      expiresAt - 60_000 > Date.now()
    ) {
      return undefined;
    }
    if (!secrets.SLACK_CLIENT_ID || !secrets.SLACK_CLIENT_SECRET) {
      throw new Error(
        'The Slack bot token expired and SLACK_CLIENT_ID and SLACK_CLIENT_SECRET, needed to renew it, are not set: set them with `runtools secrets set`.',
      );
    }
    const client = new WebClient(undefined, {
      slackApiUrl: baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`,
      fetch,
      logger: silent,
      allowAbsoluteUrls: false,
    });
    const r = (await client.oauth.v2.access({
      client_id: secrets.SLACK_CLIENT_ID,
      client_secret: secrets.SLACK_CLIENT_SECRET,
      grant_type: 'refresh_token',
      refresh_token: secrets.SLACK_REFRESH_TOKEN,
    })) as RotatingToken;
    if (!r.access_token) throw new Error('Slack renewed the token without a new one.');
    return tokenSecrets(r);
  },
  describeError(error) {
    const e = error as {
      code?: string;
      data?: { error?: string; needed?: string; provided?: string };
      statusCode?: number;
      retryAfter?: number;
      message?: string;
    };
    if (e.code === 'slack_webapi_platform_error' && e.data?.error) {
      const code = e.data.error;
      if (authErrors.has(code)) {
        return `Slack refused the token SLACK_BOT_TOKEN (${code}): set a valid bot token with \`runtools secrets set SLACK_BOT_TOKEN\`.`;
      }
      if (code === 'missing_scope') {
        return `Slack answered missing_scope: the app needs the scope ${e.data.needed ?? '(not named)'} (it has ${e.data.provided ?? 'none'}).`;
      }
      return `Slack answered ${code}.`;
    }
    if (e.code === 'slack_webapi_rate_limited_error') {
      return `Slack's rate limit: try again in ${e.retryAfter ?? '?'} s.`;
    }
    if (e.code === 'slack_webapi_http_error') return `Slack answered HTTP ${e.statusCode}.`;
    if (/rate limit was exceeded/.test(e.message ?? '')) {
      return "Slack's rate limit was still exceeded after retrying; try again later.";
    }
    return undefined;
  },
  actions: [
    action({
      name: 'post_message',
      description:
        'Posts a message to a Slack channel the bot is in. Returns the channel and the message ts (to reply in its thread).',
      input: z.object({ channel, text }),
      async run({ channel, text }, { client }) {
        const r = await client.chat.postMessage({ channel: channel.replace(/^#/, ''), text });
        return { channel: r.channel, ts: r.ts };
      },
    }),
    action({
      name: 'reply_in_thread',
      description: "Replies in the thread of a message (the ts of the thread's first message).",
      input: z.object({
        channel: channelId,
        threadTs: messageTs,
        text,
        alsoSendToChannel: z
          .boolean()
          .default(false)
          .describe('Also show the reply in the channel'),
      }),
      async run({ channel, threadTs, text, alsoSendToChannel }, { client }) {
        const r = await client.chat.postMessage({
          channel,
          thread_ts: threadTs,
          text,
          reply_broadcast: alsoSendToChannel,
        });
        return { channel: r.channel, ts: r.ts, threadTs };
      },
    }),
    action({
      name: 'read_channel_history',
      description:
        "Reads a channel's messages, newest first: ts, author's user ID, text and thread replies count. Page with nextCursor.",
      input: z.object({
        channel: channelId,
        limit: z.number().int().min(1).max(100).default(30),
        oldest: messageTs.optional().describe('Only messages after this ts'),
        cursor,
      }),
      async run({ channel, limit, oldest, cursor }, { client }) {
        const r = await client.conversations.history({
          channel,
          limit,
          ...(oldest ? { oldest } : {}),
          ...(cursor ? { cursor } : {}),
        });
        return {
          messages: (r.messages ?? []).map((m) => ({
            ts: m.ts,
            user: m.user ?? m.bot_id ?? null,
            text: m.text ?? '',
            ...(m.thread_ts ? { threadTs: m.thread_ts, replyCount: m.reply_count ?? 0 } : {}),
          })),
          nextCursor: nextCursor(r),
        };
      },
    }),
    action({
      name: 'list_channels',
      description:
        'Lists the workspace channels (not archived): ID, name, whether private, member count and topic. Page with nextCursor.',
      input: z.object({
        includePrivate: z.boolean().default(false).describe('Private channels the bot is in too'),
        limit: z.number().int().min(1).max(200).default(100),
        cursor,
      }),
      async run({ includePrivate, limit, cursor }, { client }) {
        const r = await client.conversations.list({
          exclude_archived: true,
          types: includePrivate ? 'public_channel,private_channel' : 'public_channel',
          limit,
          ...(cursor ? { cursor } : {}),
        });
        return {
          channels: (r.channels ?? []).map((c) => ({
            id: c.id,
            name: c.name,
            isPrivate: c.is_private ?? false,
            members: c.num_members ?? null,
            topic: c.topic?.value ?? '',
          })),
          nextCursor: nextCursor(r),
        };
      },
    }),
    action({
      name: 'lookup_user',
      description:
        "Looks up a workspace member by email or user ID: ID, names, email, time zone, and whether it's a bot.",
      input: z
        .object({
          email: z.email().optional(),
          userId: z
            .string()
            .regex(/^[UW][A-Z0-9]{2,40}$/, 'a user ID such as U0123456789')
            .optional(),
        })
        .refine(
          (v) => (v.email === undefined) !== (v.userId === undefined),
          'give email or userId',
        ),
      async run({ email, userId }, { client }) {
        const r = email
          ? await client.users.lookupByEmail({ email })
          : await client.users.info({ user: userId as string });
        const u = r.user;
        return {
          id: u?.id,
          name: u?.name,
          realName: u?.real_name ?? u?.profile?.real_name ?? null,
          displayName: u?.profile?.display_name ?? null,
          email: u?.profile?.email ?? null,
          timezone: u?.tz ?? null,
          isBot: u?.is_bot ?? false,
        };
      },
    }),
  ],
});
