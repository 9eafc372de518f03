import type { ApiKey } from '../store/api-keys.ts';
import type { StoredSession } from '../store/sessions.ts';

/** Who is calling: a stored API key, or the key from the environment (RUNTOOLS_API_KEY). */
export type Principal = { kind: 'api_key'; apiKey: ApiKey } | { kind: 'bootstrap' };

/** Hono's per-request context for the API: who the caller is, once `requireApiKey` ran. */
export interface AppEnv {
  Variables: {
    /** The caller's key; `bootstrap` for the key from the environment (RUNTOOLS_API_KEY). */
    principal: Principal;
    /** The rate-limit bucket of the caller (a key id, or `bootstrap`). */
    principalId: string;
    /** Stops tracking this request's connection (see KeySessions), e.g. before revoking its own key. */
    untrackConnection?: () => void;
    /** The browser session the request came with (cookie auth), if any. */
    session?: StoredSession;
  };
}
