import type { ApiScope, Session } from '@runtools/sdk/api';
import { csrfHeader } from '@runtools/sdk/api';
import { RunTools } from '@runtools/sdk/client';
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from 'react';
import { queryClient } from './queries.ts';

/**
 * The signed-in session: the API key stays on the server (an HttpOnly cookie stands for it);
 * the page keeps only the CSRF token its writes send.
 */
export interface SessionState {
  /** `false` when not signed in. */
  session: Session | false;
  /** The API client for this session (cookie auth plus the CSRF header). */
  client: RunTools;
  signIn(key: string): Promise<void>;
  signOut(): Promise<void>;
  /** Whether the session's key holds `scope`. */
  can(scope: ApiScope): boolean;
}

const SessionContext = createContext<SessionState | null>(null);

async function readError(response: Response): Promise<Error> {
  const body = (await response.json().catch(() => ({}))) as {
    error?: { code: string; message: string };
  };
  return Object.assign(new Error(body.error?.message ?? `HTTP ${response.status}`), {
    code: body.error?.code ?? 'http_error',
    status: response.status,
  });
}

/**
 * The session this page was opened with (`false`: not signed in). index.html preloads the same
 * request, so the answer is usually there before the script has run; main.tsx waits for it, so
 * that the first render is the page itself rather than a loading state.
 */
export const openingSession: Promise<Session | false> = fetch('/v1/sessions/current', {
  headers: { accept: 'application/json' },
})
  .then(async (r) => (r.ok ? ((await r.json()) as Session) : false))
  .catch(() => false);

/**
 * A client for the loaders' reads: the session cookie authenticates them, and reads need no CSRF
 * token (the page's own client, with the token, replaces their query functions once it mounts).
 */
export const readClient = new RunTools({ baseUrl: window.location.origin });

export function SessionProvider({
  initial,
  children,
}: {
  initial: Session | false;
  children: ReactNode;
}) {
  const [session, setSession] = useState<Session | false>(initial);

  const signIn = useCallback(async (key: string) => {
    const response = await fetch('/v1/sessions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ key }),
    });
    if (!response.ok) throw await readError(response);
    // Another key may have signed in: nothing the last one read stays on screen.
    queryClient.clear();
    setSession((await response.json()) as Session);
  }, []);

  const signOut = useCallback(async () => {
    if (session) {
      await fetch('/v1/sessions/current', {
        method: 'DELETE',
        headers: { [csrfHeader]: session.csrfToken },
      });
    }
    queryClient.clear();
    setSession(false);
  }, [session]);

  const value = useMemo<SessionState>(() => {
    const csrf = session ? session.csrfToken : '';
    return {
      session,
      client: new RunTools({ baseUrl: window.location.origin, headers: { [csrfHeader]: csrf } }),
      signIn,
      signOut,
      can: (scope) => (session ? session.apiKey.scopes.includes(scope) : false),
    };
  }, [session, signIn, signOut]);

  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const value = useContext(SessionContext);
  if (value === null) throw new Error('useSession outside SessionProvider');
  return value;
}

/** The API client of the signed-in session. */
export function useClient(): RunTools {
  return useSession().client;
}
