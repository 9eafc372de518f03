import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, exactly as received. */
  body: string;
}

/** A real HTTP endpoint on 127.0.0.1 that records what it receives. Dispose of it to close it. */
export interface WebhookReceiver extends AsyncDisposable {
  readonly port: number;
  /** `http://127.0.0.1:PORT` + `path`. */
  url(path?: string): string;
  readonly received: ReceivedWebhook[];
  /** The status the next requests get (default 204). */
  status: number;
  /** How long to wait before answering (default 0): a slow or hung receiver. */
  delayMs: number;
  /** Headers of the next answers (default none), e.g. a redirect's `location`. */
  headers: Record<string, string>;
  close(): Promise<void>;
}

/** Starts a receiver on `port` (default: any free one). */
export async function startWebhookReceiver(port = 0): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const receiver = { status: 204, delayMs: 0, headers: {} as Record<string, string> };
  const pending = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const timer = setTimeout(() => {
        pending.delete(timer);
        res.writeHead(receiver.status, receiver.headers).end();
      }, receiver.delayMs);
      pending.add(timer);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= new Promise<void>((resolve) => {
      for (const timer of pending) clearTimeout(timer);
      server.closeAllConnections();
      server.close(() => resolve());
    });
    return closed;
  };
  return Object.assign(receiver, {
    port: actual,
    url: (path = '/') => `http://127.0.0.1:${actual}${path}`,
    received,
    close,
    [Symbol.asyncDispose]: close,
  });
}

/** A loopback port nothing listens on (it was free a moment ago): a receiver that is down. */
export async function closedPort(): Promise<number> {
  const receiver = await startWebhookReceiver();
  await receiver.close();
  return receiver.port;
}
