import { createRoute, z } from '@hono/zod-openapi';
import { jsonResponse, newRouter } from '../router.ts';

const health = createRoute({
  method: 'get',
  path: '/health',
  summary: 'Liveness; needs no API key',
  security: [],
  responses: {
    200: jsonResponse(z.object({ status: z.literal('ok') }).openapi('Health'), 'The server is up.'),
  },
});

/** `GET /health`: the one route that needs no API key. */
export function healthRoutes() {
  return newRouter().openapi(health, (c) => c.json({ status: 'ok' as const }, 200));
}
