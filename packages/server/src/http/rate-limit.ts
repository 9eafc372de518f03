import { RunToolsError } from '@runtools/sdk';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.ts';

export interface RateLimitOptions {
  /** Bucket size: how many requests a caller may send in a burst. */
  burst: number;
  /** Tokens added back per second. */
  perSecond: number;
  /** For tests: the clock in milliseconds. */
  now?: () => number;
}

export const defaultRateLimit: RateLimitOptions = { burst: 100, perSecond: 20 };

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/**
 * Token buckets by name, in memory (one server process): `take(name)` spends a token, or throws
 * a 429 `rate_limited` whose `retryAfterSeconds` detail `handleError` also sends as the
 * `Retry-After` header (whole seconds).
 */
export function tokenBuckets(options: RateLimitOptions): {
  take(name: string, what?: string): void;
} {
  const now = options.now ?? Date.now;
  const buckets = new Map<string, Bucket>();
  return {
    take(name, what = 'Too many requests') {
      const at = now();
      const bucket = buckets.get(name) ?? { tokens: options.burst, updatedMs: at };
      bucket.tokens = Math.min(
        options.burst,
        bucket.tokens + ((at - bucket.updatedMs) / 1000) * options.perSecond,
      );
      bucket.updatedMs = at;
      buckets.set(name, bucket);
      if (bucket.tokens < 1) {
        const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / options.perSecond));
        throw new RunToolsError('rate_limited', `${what}; retry in ${retryAfter} s.`, {
          details: { retryAfterSeconds: retryAfter },
        });
      }
      bucket.tokens -= 1;
    },
  };
}

/**
 * A token bucket per caller, after authentication, keyed by the caller's key. Pass the same
 * `buckets` to the sandbox port proxy so that proxied requests count too.
 */
export function rateLimit(buckets: ReturnType<typeof tokenBuckets>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    buckets.take(c.get('principalId'));
    return next();
  };
}
