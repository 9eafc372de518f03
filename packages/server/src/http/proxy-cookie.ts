import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AppEnv } from './app-env.ts';
import type { AuthOptions } from './auth.ts';

type Principal = AppEnv['Variables']['principal'];

/** How long a browser keeps access to a sandbox port after opening it with `?token=`. */
const lifetimeMs = 12 * 3600 * 1000;

/** How long a port grant link (`POST /v1/sandboxes/{id}/port-grants`) may be opened. */
export const grantLinkLifetimeMs = 60_000;

/**
 * The proxy's cookie: never the API key itself, but a grant for one sandbox port, signed by this
 * process (HMAC-SHA256 with a random secret), naming the key it came from and when it expires.
 * A stolen cookie opens one port for at most 12 hours, and not after its key is revoked. A server
 * restart ends the grants (a new `?token=` starts another), which is fine for ports of sandboxes
 * that this server holds.
 *
 * A grant link (`?runtoolsGrant=`) is the same idea for a URL: minted by the API for a caller
 * (a signed-in dashboard), for one port, opened at most once and within a minute, so a URL
 * that lands in a browser's history, a log or a Referer opens nothing. The proxy trades it for
 * the cookie.
 */
export class ProxyGrants {
  readonly #secret = randomBytes(32);
  readonly #auth: AuthOptions;
  readonly #now: () => number;
  /** Nonces of grant links already opened, until they expire. */
  readonly #redeemed = new Map<string, number>();

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
    return this.#principal(who);
  }

  /** A one-time link value granting `principal` the port `scope`, and when it stops working. */
  link(principal: Principal, scope: string): { value: string; expiresAt: Date } {
    const who = principal.kind === 'bootstrap' ? 'bootstrap' : principal.apiKey.id;
    const expiresAt = new Date(this.#now() + grantLinkLifetimeMs);
    const expires = String(expiresAt.getTime());
    const nonce = randomBytes(16).toString('base64url');
    return {
      value: `${who}.${expires}.${nonce}.${this.#mac(who, scope, expires, nonce)}`,
      expiresAt,
    };
  }

  /**
   * The caller a link `value` grants `scope` to, if it is genuine, unexpired, not opened before
   * and its key still valid; it cannot be opened again after.
   */
  async redeem(value: string, scope: string): Promise<Principal | undefined> {
    const [who, expires, nonce, mac, extra] = value.split('.');
    if (!who || !expires || !nonce || !mac || extra !== undefined) return undefined;
    const now = this.#now();
    if (!/^\d+$/.test(expires) || Number(expires) < now) return undefined;
    const expected = Buffer.from(this.#mac(who, scope, expires, nonce));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    for (const [seen, until] of this.#redeemed) if (until < now) this.#redeemed.delete(seen);
    if (this.#redeemed.has(nonce)) return undefined;
    this.#redeemed.set(nonce, Number(expires));
    return this.#principal(who);
  }

  async #principal(who: string): Promise<Principal | undefined> {
    if (who === 'bootstrap') return this.#auth.bootstrapKey ? { kind: 'bootstrap' } : undefined;
    const apiKey = await this.#auth.apiKeys.get(who);
    return apiKey !== undefined && apiKey.revokedAt === null
      ? { kind: 'api_key', apiKey }
      : undefined;
  }

  /** A cookie's MAC has no nonce, a link's has one: neither passes for the other. */
  #mac(who: string, scope: string, expires: string, nonce?: string): string {
    const text =
      nonce === undefined
        ? `${who}\n${scope}\n${expires}`
        : `link\n${who}\n${scope}\n${expires}\n${nonce}`;
    return createHmac('sha256', this.#secret).update(text).digest('base64url');
  }
}
