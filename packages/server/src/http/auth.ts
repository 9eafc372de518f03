import { createHash, timingSafeEqual } from 'node:crypto';
import { RunToolsError } from '@runtools/sdk';
import type { MiddlewareHandler } from 'hono';
import type { ApiKeyRepository } from '../store/api-keys.ts';
import type { AppEnv } from './app-env.ts';

export interface AuthOptions {
  apiKeys: ApiKeyRepository;
  /** A key from the environment (RUNTOOLS_API_KEY) accepted besides the stored ones. */
  bootstrapKey?: string | undefined;
}

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

function unauthorized(message: string): RunToolsError {
  return new RunToolsError('unauthorized', message);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
