import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';

/** Headers that describe one hop, not the message: never forwarded either way. */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Statuses whose responses have no body (the Response constructor refuses one). */
const nullBodyStatuses = new Set([101, 103, 204, 205, 304]);

/** What is sent upstream: the request target and the headers, already cleaned by the caller. */
export interface ForwardTarget {
  /** Path and query as the sandbox's server sees them, e.g. `/app/x.js?v=1`. */
  path: string;
  /** Header name/value pairs (names lower-case), credentials already removed. */
  headers: Array<[string, string]>;
}

/** The request headers to forward: everything but hop-by-hop ones and those `drop` names. */
export function forwardedHeaders(
  headers: Headers,
  drop: (name: string, value: string) => boolean,
): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of headers) {
    if (!hopByHop.has(name) && !drop(name, value)) pairs.push([name, value]);
  }
  return pairs;
}

/**
 * Sends one HTTP request over `socket` (a connection relayed into the sandbox) and answers with
 * the sandbox server's response, its body streamed as it arrives. node:http does the framing
 * (chunked bodies, content-length, `Connection: close`), so the relay carries one exchange and
 * is closed after it.
 */
export function forwardHttp(
  socket: Socket,
  method: string,
  target: ForwardTarget,
  body: ReadableStream<Uint8Array> | null,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const upstream = httpRequest({
      createConnection: () => socket,
      method,
      path: target.path,
      headers: target.headers.flat(),
      // No agent: the relay is not pooled, and node:http sends `Connection: close` on it.
    });
    upstream.once('error', (error) => {
      socket.destroy();
      reject(error);
    });
    upstream.once('response', (res) => {
      const headers = new Headers();
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
        const name = res.rawHeaders[i] as string;
        if (!hopByHop.has(name.toLowerCase()))
          headers.append(name, res.rawHeaders[i + 1] as string);
      }
      const status = res.statusCode ?? 502;
      const empty = method === 'HEAD' || nullBodyStatuses.has(status) || status < 200;
      if (empty) res.resume();
      res.once('close', () => socket.destroy());
      resolve(
        new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
          status: status < 200 ? 502 : status,
          statusText: res.statusMessage,
          headers,
        }),
      );
    });
    if (body === null) upstream.end();
    else {
      const source = Readable.fromWeb(body as NodeReadableStream<Uint8Array>);
      source.once('error', (error) => upstream.destroy(error));
      source.pipe(upstream);
    }
  });
}

/**
 * Relays a WebSocket (or any HTTP upgrade) handshake and everything after it: the request head
 * is written to `upstream` as is, then bytes flow both ways until either side closes. Resolves
 * when both sockets are closed.
 */
export function forwardUpgrade(
  client: Duplex,
  upstream: Socket,
  method: string,
  target: ForwardTarget,
): Promise<void> {
  const head = [
    `${method} ${target.path} HTTP/1.1`,
    ...target.headers.map(([name, value]) => `${name}: ${value}`),
    '',
    '',
  ].join('\r\n');
  return new Promise((resolve) => {
    let open = 2;
    const closed = () => {
      client.destroy();
      upstream.destroy();
      if (--open === 0) resolve();
    };
    client.once('close', closed);
    upstream.once('close', closed);
    client.on('error', () => client.destroy());
    upstream.on('error', () => upstream.destroy());
    upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
}
