import { createRoute } from '@hono/zod-openapi';
import { RunToolsError } from '@runtools/sdk';
import { type Session, sessionInputSchema, sessionSchema } from '@runtools/sdk/api';
import type { Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import type { StoredSession } from '../../store/sessions.ts';
import { sessionLifetimeMs } from '../../store/sessions.ts';
import type { Store } from '../../store/store.ts';
import { deploymentsOf, scopesOf } from '../access.ts';
import type { AppEnv, Principal } from '../app-env.ts';
import { type AuthOptions, apiKeyVerifier, sessionCookie } from '../auth.ts';
import { errorResponses, jsonBody, jsonResponse, newRouter } from '../router.ts';

function toJson(principal: Principal, session: StoredSession): Session {
  return {
    apiKey:
      principal.kind === 'bootstrap'
        ? {
            id: null,
            name: 'RUNTOOLS_API_KEY',
            prefix: null,
            scopes: [...scopesOf(principal)],
            deployments: null,
          }
        : {
            id: principal.apiKey.id,
            name: principal.apiKey.name,
            prefix: principal.apiKey.prefix,
            scopes: [...scopesOf(principal)],
            deployments:
              deploymentsOf(principal) === null ? null : [...(deploymentsOf(principal) ?? [])],
          },
    csrfToken: session.csrfToken,
    createdAt: session.createdAt,
    expiresAt: session.expiresAt,
  };
}

function secureRequest(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}

const signIn = createRoute({
  method: 'post',
  path: '/sessions',
  summary: 'Sign a browser in: exchange an API key for a session cookie',
  description:
    'Answers with the session and sets `runtoolsSession` (HttpOnly, SameSite=Strict, 12 hours): ' +
    'the browser keeps the cookie, never the key. Writes made with the cookie send the returned ' +
    '`csrfToken` as `X-RunTools-CSRF`.',
  security: [],
  request: { body: jsonBody(sessionInputSchema) },
  responses: {
    201: jsonResponse(sessionSchema, 'The new session (the cookie is set).'),
    ...errorResponses(400, 413, 415),
  },
});

const current = createRoute({
  method: 'get',
  path: '/sessions/current',
  summary: 'The session of the cookie sent: its key (name, scopes) and CSRF token',
  security: [{ Session: [] }],
  responses: { 200: jsonResponse(sessionSchema, 'The session.'), ...errorResponses(404) },
});

const signOut = createRoute({
  method: 'delete',
  path: '/sessions/current',
  summary: 'Sign out: end the session of the cookie sent, and clear the cookie',
  security: [{ Session: [] }],
  responses: { 204: { description: 'Signed out.' }, ...errorResponses(404) },
});

function noSession(): RunToolsError {
  return new RunToolsError(
    'not_found',
    'This request came with no session cookie; sign in with POST /v1/sessions.',
  );
}

/** `POST /v1/sessions`, before the API's key check (it is how a browser gets in). */
export function signInRoutes(store: Store, auth: AuthOptions) {
  const verify = apiKeyVerifier(auth);
  return newRouter().openapi(signIn, async (c) => {
    const { key } = c.req.valid('json');
    const principal = await verify(key);
    if (principal === undefined) {
      throw new RunToolsError('unauthorized', 'The API key is unknown or revoked.');
    }
    const { session, token } = await store.sessions.create(
      principal.kind === 'bootstrap' ? null : principal.apiKey.id,
    );
    setCookie(c, sessionCookie, token, {
      path: '/',
      httpOnly: true,
      sameSite: 'Strict',
      secure: secureRequest(c),
      maxAge: Math.floor(sessionLifetimeMs / 1000),
    });
    return c.json(toJson(principal, session), 201);
  });
}

/** `GET|DELETE /v1/sessions/current`, behind the key check (which reads the cookie). */
export function sessionRoutes(store: Store) {
  return newRouter()
    .openapi(current, async (c: Context<AppEnv>) => {
      const session = c.get('session');
      if (session === undefined) throw noSession();
      return c.json(toJson(c.get('principal'), session), 200);
    })
    .openapi(signOut, async (c: Context<AppEnv>) => {
      const session = c.get('session');
      if (session === undefined) throw noSession();
      await store.sessions.delete(session.id);
      deleteCookie(c, sessionCookie, { path: '/', secure: secureRequest(c) });
      return c.body(null, 204);
    });
}
