import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { SandboxEngine } from '@runtools/sandbox';
import { RunToolsError } from '@runtools/sdk';
import { portGrantParam } from '@runtools/sdk/api';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { hasScope, insufficientScope } from './access.ts';
import type { AppEnv, Principal } from './app-env.ts';
import { type AuthOptions, apiKeyVerifier } from './auth.ts';
import { errorResponse } from './errors.ts';
import { type KeySessions, trackConnection } from './key-sessions.ts';
import { ProxyGrants } from './proxy-cookie.ts';
import { type RateLimitOptions, tokenBuckets } from './rate-limit.ts';
import { unavailableMessage } from './routes/sandbox-schemas.ts';
import {
  type ForwardTarget,
  forwardedHeaders,
  forwardHttp,
  forwardUpgrade,
} from './sandbox-port-forward.ts';

export interface SandboxProxyOptions extends AuthOptions {
  engine: SandboxEngine | undefined;
  /** `{port}-{sandboxId}.{domain}` host names reach sandbox ports (RUNTOOLS_DOMAIN). */
  domain?: string | undefined;
  /** Open tunnels and requests, ended when their key is revoked. */
  sessions: KeySessions;
  /** The API's per-key rate limit, which proxied requests count against. */
  buckets?: ReturnType<typeof tokenBuckets> | undefined;
  /** Resumes of a paused sandbox through its ports (default: bursts of 5, one per 10 s). */
  resumeLimit?: RateLimitOptions;
  /** Signs port cookies and grant links; shared with the route that mints links. */
  grants?: ProxyGrants;
}

/**
 * Path mode shares the API's origin: a sandbox's page is put in an opaque origin (no access to
 * the API origin's cookies, storage or service workers). Host-name mode needs none of this.
 */
const pathModeCsp = 'sandbox allow-scripts allow-forms allow-popups';

/**
 * A grant for one sandbox port, set when a browser presents `?token=KEY` once, so the page's own
 * requests carry access (never the key itself; see ProxyGrants).
 */
export const proxyCookie = 'runtools_token';

const pathPattern = /^\/v1\/sandboxes\/([^/]+)\/ports\/([^/]+)(\/.*)?$/;
const hostLabel = /^(\d{1,5})-(sbx_[0-9a-z]+)$/;
const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i;

interface Target {
  sandboxId: string;
  port: string;
  /** The path below the port, with its leading slash; empty for the bare port path. */
  rest: string;
  /** Where the cookie applies: the port's path prefix, or the whole host. */
  cookiePath: string;
  /** Reached under the API's own origin (`/v1/sandboxes/{id}/ports/{port}/…`). */
  pathMode: boolean;
}

type NodeBindings = { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;

/**
 * The public URL of sandbox ports: proxies HTTP and WebSocket requests for
 * `/v1/sandboxes/{id}/ports/{port}/…` and, when a domain is set, for every path on
 * `{port}-{id}.{domain}`, to that port inside the sandbox (a paused sandbox is resumed first).
 * Mounted before the API's own auth: the key may come as `Authorization: Bearer KEY`, as
 * `?token=KEY` (which also sets an HttpOnly cookie scoped to the port, so a browser page's
 * assets load) or as that cookie; a browser without the key opens a grant link
 * (`?runtoolsGrant=`, minted by `POST /v1/sandboxes/{id}/port-grants`), traded for the cookie
 * the same way. Credentials are removed before the request reaches the sandbox. Other requests
 * go on to the API.
 */
export function sandboxProxy(options: SandboxProxyOptions): MiddlewareHandler<AppEnv> {
  const verify = apiKeyVerifier(options);
  const grants = options.grants ?? new ProxyGrants(options);
  const resumes = tokenBuckets(options.resumeLimit ?? { burst: 5, perSecond: 0.1 });
  const domain = options.domain?.toLowerCase().replace(/^\.+|\.+$/g, '');
  return async (c, next) => {
    const target = matchTarget(c, domain);
    if (target === undefined) return next();
    const url = new URL(c.req.url);
    const query = splitQuery(url.search);

    const scope = `${target.sandboxId}:${target.port}`;
    const candidates: Array<{ from: 'header' | 'query' | 'grant' | 'cookie'; key: string }> = [];
    const header = bearer.exec(c.req.header('authorization') ?? '')?.[1];
    if (header !== undefined) candidates.push({ from: 'header', key: header });
    if (query.token !== undefined) candidates.push({ from: 'query', key: query.token });
    // Not on a WebSocket handshake: the link is for opening a page, and is used up by the first.
    if (query.grant !== undefined && c.req.header('upgrade') === undefined) {
      candidates.push({ from: 'grant', key: query.grant });
    }
    const cookie = getCookie(c, proxyCookie);
    if (cookie !== undefined && cookie !== '') candidates.push({ from: 'cookie', key: cookie });
    let used: (typeof candidates)[number] | undefined;
    let principal: Principal | undefined;
    for (const candidate of candidates) {
      // The cookie and the link are grants for this port (see ProxyGrants), not keys.
      principal =
        candidate.from === 'cookie'
          ? await grants.verify(candidate.key, scope)
          : candidate.from === 'grant'
            ? await grants.redeem(candidate.key, scope)
            : await verify(candidate.key);
      if (principal === undefined) continue;
      used = candidate;
      break;
    }
    if (used === undefined || principal === undefined) {
      return errorResponse(
        c,
        'unauthorized',
        candidates.length === 0
          ? 'Send an API key as "Authorization: Bearer KEY" or "?token=KEY".'
          : query.grant !== undefined
            ? 'The port link expired or was opened already: open the port again from the dashboard (POST /v1/sandboxes/{id}/port-grants mints a new link).'
            : 'The API key is unknown or revoked.',
      );
    }
    if (!hasScope(principal, 'sandboxes')) throw insufficientScope(['sandboxes']);
    options.buckets?.take(principal.kind === 'bootstrap' ? 'bootstrap' : principal.apiKey.id);
    if (options.engine === undefined) {
      return errorResponse(c, 'sandboxes_unavailable', unavailableMessage);
    }
    const port = Number(target.port);
    if (!/^\d{1,5}$/.test(target.port) || port < 1 || port > 65535) {
      throw new RunToolsError(
        'invalid_input',
        `Port must be from 1 to 65535, got ${target.port}.`,
        {
          details: { issues: [{ field: 'port', message: 'not a port number' }] },
        },
      );
    }
    const method = c.req.method;
    const upgrade = c.req.header('upgrade');
    const { incoming, outgoing } = (c.env as NodeBindings) ?? {};
    const inUrl = query.token !== undefined || query.grant !== undefined;
    if (inUrl && used.from !== 'header' && upgrade === undefined) {
      // The key (or link) never stays in the page's URL (where the page's scripts,
      // document.referrer and Referer headers would carry it): trade it for a grant cookie and
      // drop it from the URL.
      const secure = url.protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
      const safeMethod = method === 'GET' || method === 'HEAD';
      const path = target.rest === '' && safeMethod ? `${url.pathname}/` : url.pathname;
      return new Response(null, {
        status: safeMethod ? 303 : 307,
        headers: {
          location: `${path}${query.rest}${url.hash}`,
          'set-cookie': `${proxyCookie}=${grants.issue(principal, scope)}; Path=${target.cookiePath}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`,
          'cache-control': 'no-store',
          'referrer-policy': 'no-referrer',
        },
      });
    }
    if (target.rest === '' && (method === 'GET' || method === 'HEAD')) {
      // Relative links of the served page resolve against the port's "directory".
      return c.redirect(`${url.pathname}/${url.search}`, 308);
    }

    const sandbox = options.engine.get(target.sandboxId);
    if (sandbox.state === 'paused') {
      resumes.take(
        target.sandboxId,
        `Sandbox ${target.sandboxId} was resumed through its ports too often`,
      );
    }
    if (incoming !== undefined) trackConnection(options.sessions, principal, incoming, outgoing);
    let socket: Socket;
    try {
      socket = await sandbox.ports.connect(port);
    } catch (error) {
      if (RunToolsError.isInstance(error) && error.code === 'port_unreachable') {
        return errorResponse(c, error.code, error.message, { ...error.details });
      }
      throw error;
    }

    const forward: ForwardTarget = {
      path: (target.rest || '/') + query.rest,
      headers: [
        ...forwardedHeaders(
          c.req.raw.headers,
          (name, value) =>
            name === 'host' ||
            (name === 'authorization' && used.from === 'header' && value.includes(used.key)),
        ),
        ['host', `localhost:${port}`],
        ['x-forwarded-host', c.req.header('host') ?? ''],
        ['x-forwarded-proto', url.protocol.replace(':', '')],
      ],
    };
    const cookies = withoutProxyCookie(c.req.header('cookie'));
    forward.headers = forward.headers.filter(([name]) => name !== 'cookie' && name !== 'referer');
    if (cookies !== '') forward.headers.push(['cookie', cookies]);
    // A page opened with `?token=KEY` sends that URL as the Referer of its assets.
    const referer = withoutToken(c.req.header('referer'));
    if (referer !== undefined) forward.headers.push(['referer', referer]);

    if (upgrade !== undefined && incoming !== undefined && outgoing === undefined) {
      forward.headers.push(['connection', 'Upgrade'], ['upgrade', upgrade]);
      // The handshake's answer comes from the sandbox; this request stays open until the
      // tunnel closes, so the HTTP server writes nothing more on the socket.
      await forwardUpgrade(incoming.socket, socket, method, forward);
      return new Response(null, { status: 204 });
    }

    let response: Response;
    try {
      response = await forwardHttp(socket, method, forward, c.req.raw.body);
    } catch (error) {
      return errorResponse(
        c,
        'port_unreachable',
        `The server on port ${port} of sandbox ${target.sandboxId} closed the connection without answering (${(error as Error).message}).`,
        { sandboxId: target.sandboxId, port },
      );
    }
    if (target.pathMode) {
      response.headers.append('content-security-policy', pathModeCsp);
      response.headers.delete('service-worker-allowed');
    }
    return response;
  };
}

function matchTarget(c: Context, domain: string | undefined): Target | undefined {
  if (domain !== undefined && domain !== '') {
    const host = (c.req.header('host') ?? '').toLowerCase().replace(/:\d+$/, '');
    if (host.endsWith(`.${domain}`)) {
      const label = hostLabel.exec(host.slice(0, -domain.length - 1));
      if (label !== null) {
        const path = new URL(c.req.url).pathname;
        return {
          port: label[1] as string,
          sandboxId: label[2] as string,
          rest: path,
          cookiePath: '/',
          pathMode: false,
        };
      }
    }
  }
  const match = pathPattern.exec(new URL(c.req.url).pathname);
  if (match === null) return undefined;
  const [, id, port, rest] = match as unknown as [string, string, string, string | undefined];
  return {
    sandboxId: safeDecode(id),
    port,
    rest: rest ?? '',
    cookiePath: `/v1/sandboxes/${id}/ports/${port}`,
    pathMode: true,
  };
}

/**
 * The query without `token` and `runtoolsGrant` (kept byte for byte otherwise), and their
 * values.
 */
function splitQuery(search: string): { rest: string; token?: string; grant?: string } {
  if (search === '' || search === '?') return { rest: '' };
  let token: string | undefined;
  let grant: string | undefined;
  const kept: string[] = [];
  for (const part of search.slice(1).split('&')) {
    const name = part.split('=', 1)[0] as string;
    const value = () => safeDecode(part.slice(name.length + 1).replace(/\+/g, ' '));
    if (safeDecode(name) === 'token') token ??= value();
    else if (safeDecode(name) === portGrantParam) grant ??= value();
    else kept.push(part);
  }
  return {
    rest: kept.length === 0 ? '' : `?${kept.join('&')}`,
    ...(token ? { token } : {}),
    ...(grant ? { grant } : {}),
  };
}

function withoutToken(referer: string | undefined): string | undefined {
  if (referer === undefined) return undefined;
  const query = referer.indexOf('?');
  if (query === -1) return referer;
  const hash = referer.indexOf('#', query);
  const search = referer.slice(query, hash === -1 ? undefined : hash);
  return (
    referer.slice(0, query) + splitQuery(search).rest + (hash === -1 ? '' : referer.slice(hash))
  );
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The Cookie header without the proxy's own cookie (the sandbox never sees the key). */
function withoutProxyCookie(header: string | undefined): string {
  if (header === undefined) return '';
  return header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '' && !part.startsWith(`${proxyCookie}=`))
    .join('; ');
}
