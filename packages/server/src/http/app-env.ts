import type { ApiKey } from '../store/api-keys.ts';

/** Hono's per-request context for the API: who the caller is, once `requireApiKey` ran. */
export interface AppEnv {
  Variables: {
    /** The caller's key; `bootstrap` for the key from the environment (RUNTOOLS_API_KEY). */
    principal: { kind: 'api_key'; apiKey: ApiKey } | { kind: 'bootstrap' };
    /** The rate-limit bucket of the caller (a key id, or `bootstrap`). */
    principalId: string;
  };
}
