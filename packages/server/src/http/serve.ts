import type { AddressInfo } from 'node:net';
import { serve as serveNode } from '@hono/node-server';
import type { Hono } from 'hono';
import { WebSocketServer } from 'ws';

export interface ServeOptions {
  // biome-ignore lint/suspicious/noExplicitAny: any app, whatever its env and routes
  app: Hono<any, any, any>;
  /** 0 picks a free port. */
  port: number;
  /** Loopback by default: listening on all interfaces is a choice made at the edge. */
  host?: string;
  /** Largest WebSocket message in bytes (default 1 MiB). */
  maxWebSocketMessageBytes?: number;
}

export interface Server extends AsyncDisposable {
  /** `http://HOST:PORT`, with the port actually bound. */
  readonly url: string;
  /** Stops accepting connections and closes the idle ones; resolves when the server is closed. */
  close(): Promise<void>;
}

/**
 * Serves a Hono app over HTTP (and WebSocket, for routes using `upgradeWebSocket`) with
 * @hono/node-server; resolves once it is listening.
 */
export async function serve({
  app,
  port,
  host = '127.0.0.1',
  maxWebSocketMessageBytes = 1024 * 1024,
}: ServeOptions): Promise<Server> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxWebSocketMessageBytes });
  const { server, address } = await new Promise<{
    server: ReturnType<typeof serveNode>;
    address: AddressInfo;
  }>((resolve, reject) => {
    const s = serveNode(
      { fetch: app.fetch, port, hostname: host, websocket: { server: wss } },
      (info) => resolve({ server: s, address: info }),
    );
    s.once('error', reject);
  });
  // Requests Node's parser rejects before the app sees them (a URL or headers over its 16 KiB
  // limit, malformed HTTP) still get the API's error shape instead of a bare status line.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: import('node:stream').Duplex) => {
    if (!socket.writable) return socket.destroy();
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const body = JSON.stringify({
      error: tooLarge
        ? { code: 'request_too_large', message: 'The request line or headers are too large.' }
        : { code: 'bad_request', message: 'The request is not valid HTTP.' },
    });
    socket.end(
      `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      // Open WebSockets would keep the server from closing.
      for (const client of wss.clients) client.terminate();
    });
    return closed;
  };
  return { url: `http://${hostPart}:${address.port}`, close, [Symbol.asyncDispose]: close };
}
