import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { errorResponse } from './errors.ts';

/**
 * A request body size limit answering the API's 413 `payload_too_large`. The connection is closed
 * with it: the rest of the body is never read, so it cannot carry another request.
 */
export function limitBody(maxSize: number): MiddlewareHandler {
  return bodyLimit({
    maxSize,
    onError: (c) => {
      const response = errorResponse(
        c,
        'payload_too_large',
        `The body is larger than ${maxSize} bytes.`,
        { maxBytes: maxSize },
      );
      response.headers.set('connection', 'close');
      return response;
    },
  });
}
