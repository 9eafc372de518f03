import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a fake service received, as it arrived. */
export interface ReceivedRequest {
  method: string;
  /** The path without the query. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** The raw body text. */
  body: string;
}

/** What a route answers: a status, JSON (or text) and headers. */
export interface FakeAnswer {
  status?: number;
  json?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

export type FakeRoute = (
  request: ReceivedRequest,
  params: Record<string, string>,
) => FakeAnswer | Promise<FakeAnswer>;

/**
 * An HTTP server on loopback that stands in for an outside service in tests: routes by method
 * and path pattern (`/repos/:owner/:repo`), records every request, and can answer the next
 * requests with something else first (a rate limit, an outage). Closed by `close()` or
 * `await using`.
 */
export class FakeService implements AsyncDisposable {
  readonly requests: ReceivedRequest[] = [];
  readonly #routes: Array<{ method: string; pattern: RegExp; keys: string[]; route: FakeRoute }> =
    [];
  readonly #overrides: FakeRoute[] = [];
  #server: Server | undefined;
  #url = '';

  get url(): string {
    return this.#url;
  }

  /** Adds a route; `:name` segments are captured (URL-decoded) into `params`. */
  on(method: string, path: string, route: FakeRoute): this {
    const keys: string[] = [];
    const source = path.replace(/:([a-zA-Z]+)(\*)?/g, (_m, key: string, rest?: string) => {
      keys.push(key);
      return rest ? '(.+)' : '([^/]+)';
    });
    this.#routes.push({ method, pattern: new RegExp(`^${source}$`), keys, route });
    return this;
  }

  /** The next requests (one per answer) get these answers instead of their routes'. */
  answerNext(...answers: Array<FakeAnswer | FakeRoute>): void {
    for (const answer of answers) {
      this.#overrides.push(typeof answer === 'function' ? answer : () => answer);
    }
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error));
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.address() as AddressInfo;
    this.#url = `http://127.0.0.1:${port}`;
    return this;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const request: ReceivedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    this.requests.push(request);
    let answer: FakeAnswer | undefined;
    const override = this.#overrides.shift();
    if (override) answer = await override(request, {});
    for (const r of answer ? [] : this.#routes) {
      const match = r.method === request.method ? r.pattern.exec(request.path) : null;
      if (!match) continue;
      const params = Object.fromEntries(
        r.keys.map((key, i) => [key, decodeURIComponent(match[i + 1] ?? '')]),
      );
      answer = await r.route(request, params);
      break;
    }
    answer ??= { status: 404, json: { message: 'Not Found' } };
    const body = answer.text ?? (answer.json === undefined ? '' : JSON.stringify(answer.json));
    res.writeHead(answer.status ?? 200, {
      'content-type': answer.text === undefined ? 'application/json; charset=utf-8' : 'text/plain',
      ...answer.headers,
    });
    res.end(body);
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A request's body as form fields or JSON, whichever its content type says. */
export function bodyFields(request: ReceivedRequest): Record<string, unknown> {
  if (request.body === '') return {};
  if (/json/.test(String(request.headers['content-type']))) {
    return JSON.parse(request.body) as Record<string, unknown>;
  }
  return Object.fromEntries(new URLSearchParams(request.body));
}
