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
 * A token bucket per caller, in memory (one server process). Runs after authentication, keyed by
 * the caller's key; an empty bucket is a 429 `rate_limited` whose `retryAfterSeconds` detail
 * `handleError` also sends as the `Retry-After` header (whole seconds).
 */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler<AppEnv> {
  const now = options.now ?? Date.now;
  const buckets = new Map<string, Bucket>();
  return async (c, next) => {
    const key = c.get('principalId');
    const at = now();
    const bucket = buckets.get(key) ?? { tokens: options.burst, updatedMs: at };
    bucket.tokens = Math.min(
      options.burst,
      bucket.tokens + ((at - bucket.updatedMs) / 1000) * options.perSecond,
    );
    bucket.updatedMs = at;
    buckets.set(key, bucket);
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / options.perSecond));
      throw new RunToolsError('rate_limited', `Too many requests; retry in ${retryAfter} s.`, {
        details: { retryAfterSeconds: retryAfter },
      });
    }
    bucket.tokens -= 1;
    return next();
  };
}
