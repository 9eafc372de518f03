import type { SandboxEngine } from '@runtools/sandbox';
import {
  listeningPortListSchema,
  portGrantInputSchema,
  portGrantParam,
  portGrantSchema,
} from '@runtools/sdk/api';
import type { ProxyGrants } from '../proxy-cookie.ts';
import { errorResponses, jsonBody, jsonResponse, newRouter, scopedRoute } from '../router.ts';
import {
  portUrlTemplate,
  sandboxIdParamSchema,
  unavailable,
  unavailableResponse,
} from './sandbox-schemas.ts';

const list = scopedRoute('sandboxes', {
  method: 'get',
  path: '/sandboxes/{id}/ports',
  summary: 'The TCP ports something listens on inside a running sandbox',
  description:
    "Read from the sandbox's /proc/net/tcp and tcp6, each with its URL through the port proxy. " +
    'A paused sandbox is not resumed to answer: 409 `sandbox_state`.',
  request: { params: sandboxIdParamSchema },
  responses: {
    200: jsonResponse(listeningPortListSchema, 'The listening ports, in port order.'),
    ...errorResponses(400, 404, 409),
    ...unavailableResponse,
  },
});

const grant = scopedRoute('sandboxes', {
  method: 'post',
  path: '/sandboxes/{id}/port-grants',
  summary: 'A one-time link that opens a sandbox port in a browser without the API key',
  description:
    `The port's URL with \`?${portGrantParam}=…\`, valid once and for a minute: the proxy ` +
    'answers it with a 303 to the same URL without the grant and sets its HttpOnly port cookie, ' +
    'as it does for `?token=KEY`. The dashboard opens ports this way, so no key is ever in a URL.',
  request: { params: sandboxIdParamSchema, body: jsonBody(portGrantInputSchema) },
  responses: {
    201: jsonResponse(portGrantSchema, 'The link.'),
    ...errorResponses(400, 404, 413, 415),
    ...unavailableResponse,
  },
});

/** `GET /v1/sandboxes/{id}/ports` and `POST /v1/sandboxes/{id}/port-grants`. */
export function sandboxPortRoutes(
  engine: SandboxEngine | undefined,
  grants: ProxyGrants,
  domain?: string,
) {
  return newRouter()
    .openapi(list, async (c) => {
      const { id } = c.req.valid('param');
      if (engine === undefined) return unavailable(c);
      const sandbox = engine.get(id);
      const url = portUrlTemplate(c, domain)(sandbox.id);
      const ports = await sandbox.ports.listening();
      return c.json(
        { data: ports.map((p) => ({ ...p, url: url.replace('{port}', String(p.port)) })) },
        200,
      );
    })
    .openapi(grant, async (c) => {
      const { id } = c.req.valid('param');
      const { port } = c.req.valid('json');
      if (engine === undefined) return unavailable(c);
      const sandbox = engine.get(id);
      const link = grants.link(c.get('principal'), `${sandbox.id}:${port}`);
      const url = new URL(portUrlTemplate(c, domain)(sandbox.id).replace('{port}', String(port)));
      url.searchParams.set(portGrantParam, link.value);
      return c.json({ port, url: url.href, expiresAt: link.expiresAt.toISOString() }, 201);
    });
}
