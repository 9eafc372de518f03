import type { MiddlewareHandler } from 'hono';

/**
 * Answers with `Connection: close` when the request had a body the app never read (a 401, 415,
 * 404 or path error answered before the body). The unread bytes would otherwise sit on a
 * keep-alive connection that the client reuses for its next request, which then fails.
 */
export function closeUnreadBody(): MiddlewareHandler {
  return async (c, next) => {
    const raw = c.req.raw;
    await next();
    const hasBody =
      c.req.header('transfer-encoding') !== undefined ||
      Number(c.req.header('content-length') ?? 0) > 0;
    // bodyLimit swaps in a buffered copy once it has read a chunked body: that one counts as read.
    if (hasBody && raw === c.req.raw && !raw.bodyUsed) c.res.headers.set('connection', 'close');
  };
}
