import { createHash, timingSafeEqual } from 'node:crypto';
import { RunToolsError } from '@runtools/sdk';
import { csrfHeader } from '@runtools/sdk/api';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { ApiKeyRepository } from '../store/api-keys.ts';
import type { SessionRepository } from '../store/sessions.ts';
import type { AppEnv, Principal } from './app-env.ts';

export interface AuthOptions {
  apiKeys: ApiKeyRepository;
  /** A key from the environment (RUNTOOLS_API_KEY) accepted besides the stored ones. */
  bootstrapKey?: string | undefined;
  /** Browser sessions (the dashboard's cookie); without them only keys are accepted. */
  browserSessions?: SessionRepository;
}

/** The dashboard's session cookie: a random value standing for a key, never the key. */
export const sessionCookie = 'runtoolsSession';

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * Requires `Authorization: Bearer KEY` (or `?token=KEY` on a WebSocket handshake), where KEY is a
 * stored, unrevoked API key or the bootstrap key. Anything else is a 401 `unauthorized`, with the
 * same message whatever was wrong.
 */
export function requireApiKey(options: AuthOptions): MiddlewareHandler<AppEnv> {
  const verify = apiKeyVerifier(options);
  return async (c, next) => {
    const match = bearer.exec(c.req.header('authorization') ?? '');
    // Browsers cannot set headers on a WebSocket: the handshake may carry the key as `?token=`.
    const presented =
      match?.[1] ??
      (c.req.header('upgrade')?.toLowerCase() === 'websocket' ? c.req.query('token') : undefined);
    if (presented === undefined) {
      const fromSession = await sessionPrincipal(c, options);
      if (fromSession !== undefined) {
        c.set('principal', fromSession);
        c.set(
          'principalId',
          fromSession.kind === 'bootstrap' ? 'bootstrap' : fromSession.apiKey.id,
        );
        return next();
      }
      throw unauthorized('Send an API key as "Authorization: Bearer KEY".');
    }
    const principal = await verify(presented);
    if (principal === undefined) throw unauthorized('The API key is unknown or revoked.');
    c.set('principal', principal);
    c.set('principalId', principal.kind === 'bootstrap' ? 'bootstrap' : principal.apiKey.id);
    return next();
  };
}

/**
 * The key check of `requireApiKey` on its own, for callers that find the key elsewhere (the
 * sandbox port proxy also takes it from a cookie): the caller, or undefined for a bad key.
 */
export function apiKeyVerifier(
  options: AuthOptions,
): (presented: string) => Promise<AppEnv['Variables']['principal'] | undefined> {
  const bootstrap =
    options.bootstrapKey === undefined || options.bootstrapKey === ''
      ? undefined
      : sha256(options.bootstrapKey);
  return async (presented) => {
    // Hashing first makes both sides 32 bytes, so the comparison's time says nothing of the key.
    if (bootstrap !== undefined && timingSafeEqual(sha256(presented), bootstrap)) {
      return { kind: 'bootstrap' };
    }
    const apiKey = await options.apiKeys.verify(presented);
    return apiKey === undefined ? undefined : { kind: 'api_key', apiKey };
  };
}

/**
 * The caller of a request that carries the session cookie (and no key): the session's key, while
 * it is valid. A request that changes something must also send the session's CSRF token as
 * `X-RunTools-CSRF`, and a WebSocket handshake must come from this server's own origin: a page of
 * another site cannot act with the cookie.
 */
async function sessionPrincipal(
  c: Context<AppEnv>,
  options: AuthOptions,
): Promise<Principal | undefined> {
  const token = options.browserSessions === undefined ? undefined : getCookie(c, sessionCookie);
  if (token === undefined || token === '' || options.browserSessions === undefined)
    return undefined;
  const session = await options.browserSessions.find(token);
  if (session === undefined) return undefined;
  let principal: Principal | undefined;
  if (session.apiKeyId === null) {
    principal = options.bootstrapKey ? { kind: 'bootstrap' } : undefined;
  } else {
    const apiKey = await options.apiKeys.get(session.apiKeyId);
    principal =
      apiKey !== undefined && apiKey.revokedAt === null ? { kind: 'api_key', apiKey } : undefined;
  }
  if (principal === undefined) return undefined;
  if (c.req.header('upgrade')?.toLowerCase() === 'websocket') {
    const origin = c.req.header('origin');
    if (origin === undefined || new URL(origin).host !== c.req.header('host')) {
      throw new RunToolsError(
        'csrf_token_invalid',
        'A WebSocket authenticated by the session cookie must come from this server’s own pages.',
      );
    }
  } else if (!safeMethods.has(c.req.method)) {
    const sent = Buffer.from(c.req.header(csrfHeader) ?? '');
    const expected = Buffer.from(session.csrfToken);
    if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
      throw new RunToolsError(
        'csrf_token_invalid',
        `A change made with the session cookie needs the session's CSRF token in the ${csrfHeader} header (GET /v1/sessions/current gives it).`,
      );
    }
  }
  c.set('session', session);
  return principal;
}

function unauthorized(message: string): RunToolsError {
  return new RunToolsError('unauthorized', message);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
