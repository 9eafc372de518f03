import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AppEnv } from './app-env.ts';
import type { AuthOptions } from './auth.ts';

type Principal = AppEnv['Variables']['principal'];

/** How long a browser keeps access to a sandbox port after opening it with `?token=`. */
const lifetimeMs = 12 * 3600 * 1000;

/**
 * The proxy's cookie: never the API key itself, but a grant for one sandbox port, signed by this
 * process (HMAC-SHA256 with a random secret), naming the key it came from and when it expires.
 * A stolen cookie opens one port for at most 12 hours, and not after its key is revoked. A server
 * restart ends the grants (a new `?token=` starts another), which is fine for ports of sandboxes
 * that this server holds.
 */
export class ProxyGrants {
  readonly #secret = randomBytes(32);
  readonly #auth: AuthOptions;
  readonly #now: () => number;

  constructor(auth: AuthOptions, now: () => number = Date.now) {
    this.#auth = auth;
    this.#now = now;
  }

  /** A cookie value granting `principal` the port `scope` (e.g. `sbx_…:3000`). */
  issue(principal: Principal, scope: string): string {
    const who = principal.kind === 'bootstrap' ? 'bootstrap' : principal.apiKey.id;
    const expires = String(this.#now() + lifetimeMs);
    return `${who}.${expires}.${this.#mac(who, scope, expires)}`;
  }

  /** The caller `value` grants `scope` to now (its key still valid), or undefined. */
  async verify(value: string, scope: string): Promise<Principal | undefined> {
    const [who, expires, mac, extra] = value.split('.');
    if (!who || !expires || !mac || extra !== undefined) return undefined;
    if (!/^\d+$/.test(expires) || Number(expires) < this.#now()) return undefined;
    const expected = Buffer.from(this.#mac(who, scope, expires));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    if (who === 'bootstrap') return this.#auth.bootstrapKey ? { kind: 'bootstrap' } : undefined;
    const apiKey = await this.#auth.apiKeys.get(who);
    return apiKey !== undefined && apiKey.revokedAt === null
      ? { kind: 'api_key', apiKey }
      : undefined;
  }

  #mac(who: string, scope: string, expires: string): string {
    return createHmac('sha256', this.#secret)
      .update(`${who}\n${scope}\n${expires}`)
      .digest('base64url');
  }
}
