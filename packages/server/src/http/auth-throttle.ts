import { BlockList, isIP } from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import { RunToolsError } from '@runtools/sdk';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AppEnv } from './app-env.ts';
import { sessionCookie } from './auth.ts';
import { proxyCookie } from './sandbox-proxy.ts';

export interface AuthThrottleOptions {
  /** Failed authentications one client address may make within `windowMs` (default 10). */
  maxFailures: number;
  /** The sliding window, in milliseconds (default 60 000). */
  windowMs: number;
  /**
   * Reverse proxies whose `X-Forwarded-For` is believed (RUNTOOLS_TRUSTED_PROXIES): addresses
   * or CIDR ranges such as `127.0.0.1` or `10.0.0.0/8`. Without them the client is the socket's
   * peer, whatever the headers say.
   */
  trustedProxies?: readonly string[];
  /** For tests: the clock in milliseconds. */
  now?: () => number;
}

export const defaultAuthThrottle: AuthThrottleOptions = { maxFailures: 10, windowMs: 60_000 };

/** Addresses whose failures are remembered at most; beyond it the oldest are forgotten. */
const maxAddresses = 10_000;
/** How long a request's key check may count as a possible failure (it takes milliseconds). */
const checkMs = 1000;
/** How long a request waits for the checks of earlier ones before it is refused. */
const maxWaitMs = 10_000;

interface ClientState {
  /** Failure times, oldest first, at most `maxFailures` of them. */
  failures: number[];
  /** Requests presenting a key whose check has not ended yet. */
  checking: number;
  waiters: Array<() => void>;
}

export interface AuthThrottle {
  /** Before anything that checks a key (the port proxy and `/v1`'s authentication). */
  guard: MiddlewareHandler<AppEnv>;
  /** Right after `/v1`'s authentication: the key was good, its check is over. */
  passed: MiddlewareHandler<AppEnv>;
}

/**
 * Throttles guessing of API keys per client address, before authentication. A request that
 * presents a credential (see `presentsCredential`) and is answered 401 is a failure; once an address has `maxFailures` failures within `windowMs`, every
 * request from it is a 429 `rate_limited` with `Retry-After` until the oldest of them leaves the
 * window: a correct key too, or a guess that succeeded would stand out from the refused ones.
 * Guesses sent all at once do not slip through: a request whose key is being checked counts as
 * a possible failure until the check ends (in milliseconds), and requests beyond the budget wait
 * for those checks instead of being checked alongside them. `/health` is never throttled. IPv6
 * clients are counted per /64, the block one host usually holds. Requests with no socket (an
 * in-process `app.request`) are not counted.
 */
export function authThrottle(options: AuthThrottleOptions): AuthThrottle {
  const now = options.now ?? Date.now;
  const trusted =
    options.trustedProxies && options.trustedProxies.length > 0
      ? addressMatcher(options.trustedProxies)
      : undefined;
  const clients = new Map<string, ClientState>();
  const checks = new WeakMap<Request, () => void>();

  /** The state of `client` with failures older than the window dropped. */
  const current = (state: ClientState): ClientState => {
    const since = now() - options.windowMs;
    while ((state.failures[0] ?? Number.POSITIVE_INFINITY) <= since) state.failures.shift();
    return state;
  };
  const stateOf = (client: string): ClientState => {
    let state = clients.get(client);
    if (state === undefined) {
      state = { failures: [], checking: 0, waiters: [] };
      clients.set(client, state);
      if (clients.size > maxAddresses) forgetOldest(clients, now(), options.windowMs);
    }
    return current(state);
  };
  const refuse = (state: ClientState): RunToolsError => {
    const oldest = state.failures[0] ?? now();
    const retryAfter = Math.max(1, Math.ceil((oldest + options.windowMs - now()) / 1000));
    return new RunToolsError(
      'rate_limited',
      `Too many failed authentications from this address; retry in ${retryAfter} s with a valid API key.`,
      { details: { retryAfterSeconds: retryAfter } },
    );
  };

  const guard: MiddlewareHandler<AppEnv> = async (c, next) => {
    if (c.req.path === '/health') return next();
    const client = clientOf(c, trusted);
    if (client === undefined) return next();
    if (!presentsCredential(c)) {
      const known = clients.get(client);
      if (known && current(known).failures.length >= options.maxFailures) throw refuse(known);
      return next();
    }
    let state = stateOf(client);
    const deadline = now() + maxWaitMs;
    for (;;) {
      if (state.failures.length >= options.maxFailures) throw refuse(state);
      if (state.failures.length + state.checking < options.maxFailures) break;
      if (now() >= deadline) throw refuse(state);
      const waiting = state;
      await new Promise<void>((resolve) => {
        waiting.waiters.push(resolve);
        setTimeout(resolve, checkMs).unref();
      });
      state = stateOf(client);
    }
    const checking = state;
    checking.checking += 1;
    let checked = false;
    const endCheck = () => {
      if (checked) return;
      checked = true;
      clearTimeout(timer);
      checking.checking -= 1;
      for (const wake of checking.waiters.splice(0)) wake();
    };
    const timer = setTimeout(endCheck, checkMs);
    timer.unref();
    checks.set(c.req.raw, endCheck);
    try {
      await next();
      if (c.res.status === 401) {
        checking.failures.push(now());
        if (checking.failures.length > options.maxFailures) checking.failures.shift();
      }
    } finally {
      endCheck();
    }
  };

  const passed: MiddlewareHandler<AppEnv> = async (c, next) => {
    checks.get(c.req.raw)?.();
    return next();
  };

  return { guard, passed };
}

/**
 * Whether the request carried something that was checked as a key (not an anonymous call): an
 * `Authorization` header, `?token=`, a cookie of the port proxy or of a browser session, or a
 * browser's sign-in (`POST /v1/sessions`, the key in its body).
 */
function presentsCredential(c: Context): boolean {
  return (
    c.req.header('authorization') !== undefined ||
    c.req.query('token') !== undefined ||
    getCookie(c, proxyCookie) !== undefined ||
    getCookie(c, sessionCookie) !== undefined ||
    (c.req.method === 'POST' && c.req.path === '/v1/sessions')
  );
}

/** Drops the addresses with no failure in the window and nothing in flight, then the oldest. */
function forgetOldest(clients: Map<string, ClientState>, at: number, windowMs: number): void {
  for (const [client, state] of clients) {
    const idle = state.checking === 0 && state.waiters.length === 0;
    if (idle && (state.failures.at(-1) ?? 0) <= at - windowMs) clients.delete(client);
  }
  for (const [client, state] of clients) {
    if (clients.size <= maxAddresses) break;
    if (state.checking === 0 && state.waiters.length === 0) clients.delete(client);
  }
}

/**
 * The client's address: the socket's peer, or, when that peer is a trusted proxy, the nearest
 * address in `X-Forwarded-For` that is not one; IPv6 as its /64.
 */
function clientOf(c: Context, trusted: BlockList | undefined): string | undefined {
  let peer: string | undefined;
  try {
    peer = getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
  if (peer === undefined) return undefined;
  let address = normalize(peer);
  if (trusted !== undefined && isTrusted(trusted, address)) {
    const forwarded = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((a) => normalize(a.trim()))
      .filter((a) => isIP(a) !== 0);
    for (let i = forwarded.length - 1; i >= 0; i--) {
      address = forwarded[i] as string;
      if (!isTrusted(trusted, address)) break;
    }
  }
  return isIP(address) === 6 ? prefix64(address) : address;
}

/**
 * Matches addresses against `127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`-style entries; an
 * entry that is neither throws an Error naming it.
 */
export function addressMatcher(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits, extra] = entry.trim().split('/');
    const family = isIP(address);
    const max = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? undefined : Number(bits);
    if (
      family === 0 ||
      extra !== undefined ||
      (prefix !== undefined && !(/^\d+$/.test(bits ?? '') && prefix <= max))
    ) {
      throw new Error(`"${entry}" is not an IP address or CIDR range such as 10.0.0.0/8`);
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, prefix, type);
  }
  return list;
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** An IPv4 address as itself (also when IPv4-mapped, `::ffff:1.2.3.4`); zone ids dropped. */
function normalize(address: string): string {
  const bare = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  return mapped?.[1] ?? bare.toLowerCase();
}

/** The /64 network of an IPv6 address, e.g. `2001:db8:0:1::/64`. */
function prefix64(address: string): string {
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
