import { z } from '@hono/zod-openapi';
import { type IntegrationToolsOptions, marketplace } from '@runtools/agent';
import { RunToolsError } from '@runtools/sdk';
import { integrationConnectInputSchema, integrationConnectSchema } from '@runtools/sdk/api';
import { Hono } from 'hono';
import type { Store } from '../../store/store.ts';
import { errorResponses, jsonResponse, newRouter, scopedRoute } from '../router.ts';

/** How long a consent may take before its callback is refused. */
const consentMs = 10 * 60_000;
/** What the sealed `state` is bound to, so no other sealed value of this server passes as one. */
const stateContext = 'oauth-state';

/** Where integrations reach their services (the operator's base URLs and address policy). */
export type IntegrationSettings = Pick<IntegrationToolsOptions, 'baseUrls' | 'fetch'>;

interface ConsentState {
  integration: string;
  redirectUri: string;
  expiresAt: number;
}

const connect = scopedRoute('admin', {
  method: 'post',
  path: '/tools/{name}/connect',
  summary:
    "Start connecting an account to an integration by the service's OAuth consent (Slack, Gmail)",
  request: {
    params: z.object({
      name: z
        .string()
        .max(64)
        .meta({ param: { name: 'name', in: 'path' }, example: 'slack' }),
    }),
    body: {
      content: { 'application/json': { schema: integrationConnectInputSchema } },
      required: false,
    },
  },
  responses: {
    200: jsonResponse(integrationConnectSchema, 'The consent page to open in a browser.'),
    ...errorResponses(400, 404),
  },
});

function oauthOf(name: string) {
  const integration = marketplace.find((i) => i.name === name);
  if (integration?.oauth === undefined) {
    throw new RunToolsError(
      'not_found',
      `No integration named ${name} connects by OAuth (${marketplace
        .filter((i) => i.oauth)
        .map((i) => i.name)
        .join(', ')} do).`,
    );
  }
  return { integration, oauth: integration.oauth };
}

/**
 * `POST /v1/tools/{name}/connect` (admin): the service's consent page for the operator's OAuth
 * client (its id and secret are secrets of the store, e.g. `SLACK_CLIENT_ID`), with a `state`
 * sealed by the server's key (so any server of the setup can take the callback, and nobody can
 * forge one) that expires after ten minutes.
 */
export function integrationConnectRoutes(store: Store, settings: IntegrationSettings) {
  return newRouter().openapi(connect, async (c) => {
    const { name } = c.req.valid('param');
    const { integration, oauth } = oauthOf(name);
    const body = (await c.req.json().catch(() => ({}))) as unknown;
    const parsed = integrationConnectInputSchema.safeParse(body ?? {});
    if (!parsed.success) {
      throw new RunToolsError(
        'invalid_input',
        parsed.error.issues.map((i) => i.message).join('; '),
      );
    }
    const clientId = await store.secrets.resolve(oauth.clientIdSecret, null);
    if (clientId === undefined) {
      throw new RunToolsError(
        'invalid_input',
        `Connecting ${integration.title} needs the OAuth app's ${oauth.clientIdSecret} and ${oauth.clientSecretSecret}: set them with \`runtools secrets set ${oauth.clientIdSecret}\`.`,
      );
    }
    const redirectUri =
      parsed.data.redirectUri ?? new URL('/oauth/callback', new URL(c.req.url).origin).toString();
    const expiresAt = Date.now() + consentMs;
    const state: ConsentState = { integration: integration.name, redirectUri, expiresAt };
    const url = new URL(oauth.authorizeUrl(settings.baseUrls?.[integration.name]));
    url.searchParams.set('client_id', clientId);
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('response_type', 'code');
    // Slack lists scopes with commas, OAuth 2.0 (Google) with spaces.
    url.searchParams.set('scope', oauth.scopes.join(integration.name === 'slack' ? ',' : ' '));
    for (const [k, v] of Object.entries(oauth.params ?? {})) url.searchParams.set(k, v);
    url.searchParams.set('state', store.database.secrets.seal(JSON.stringify(state), stateContext));
    return c.json(
      { authorizeUrl: url.toString(), redirectUri, expiresAt: new Date(expiresAt).toISOString() },
      200,
    );
  });
}

/**
 * `GET /oauth/callback`: where the service sends the person back with a code. Public (the
 * browser comes from the service's site and brings no key): only a `state` this server sealed
 * in the last ten minutes is taken. The code is exchanged (with the service's SDK) for the
 * integration's tokens, which go to the secret store; the page names the connected account and
 * never shows a token.
 */
export function oauthCallbackRoutes(store: Store, settings: IntegrationSettings) {
  const app = new Hono();
  app.get('/oauth/callback', async (c) => {
    const page = (status: 200 | 400 | 502, title: string, text: string) =>
      c.html(
        `<!doctype html><meta charset="utf-8"><title>${escapeHtml(title)}</title><main style="font-family:sans-serif;max-width:40rem;margin:4rem auto"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></main>`,
        status,
        { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
      );
    let state: ConsentState;
    try {
      state = JSON.parse(
        store.database.secrets.open(c.req.query('state') ?? '', stateContext),
      ) as ConsentState;
    } catch {
      return page(
        400,
        'Not connected',
        'This link is not one this server started, or it was altered.',
      );
    }
    if (state.expiresAt < Date.now()) {
      return page(
        400,
        'Not connected',
        'This consent took longer than ten minutes: start it again.',
      );
    }
    const { integration, oauth } = oauthOf(state.integration);
    const denied = c.req.query('error');
    const code = c.req.query('code');
    if (denied || !code) {
      return page(400, 'Not connected', `${integration.title} answered: ${denied ?? 'no code'}.`);
    }
    const [clientId, clientSecret] = await Promise.all([
      store.secrets.resolve(oauth.clientIdSecret, null),
      store.secrets.resolve(oauth.clientSecretSecret, null),
    ]);
    if (!clientId || !clientSecret) {
      return page(
        400,
        'Not connected',
        `${oauth.clientIdSecret} and ${oauth.clientSecretSecret} are not both set.`,
      );
    }
    let result: { secrets: Record<string, string>; account: string };
    try {
      result = await oauth.exchange(
        { code, redirectUri: state.redirectUri, clientId, clientSecret },
        {
          baseUrl: settings.baseUrls?.[integration.name] ?? integration.defaultBaseUrl,
          fetch: settings.fetch ?? fetch,
        },
      );
    } catch (error) {
      // The service's words, without anything secret of ours in them.
      const said = String((error as Error)?.message ?? error)
        .replaceAll(clientSecret, `[${oauth.clientSecretSecret}]`)
        .replaceAll(code, '[code]')
        .slice(0, 300);
      return page(502, 'Not connected', `${integration.title} refused the code: ${said}`);
    }
    for (const [name, value] of Object.entries(result.secrets)) {
      await store.secrets.set(name, value, null);
    }
    await store.connections.set(integration.name, result.account);
    return page(
      200,
      `Connected ${integration.title}`,
      `${result.account} is connected. You can close this window.`,
    );
  });
  return app;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
