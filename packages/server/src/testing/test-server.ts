import type { Database } from '../db/database.ts';
import { type AppOptions, createApp } from '../http/create-app.ts';
import { silentLogger } from '../http/logger.ts';
import { serve } from '../http/serve.ts';
import { createStore, type Store } from '../store/store.ts';

/** 32 characters or more: `main.ts` refuses a shorter RUNTOOLS_API_KEY. */
export const testBootstrapKey = 'test-bootstrap-key-0123456789abcdef';

export interface TestResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or undefined for an empty or non-JSON one. */
  body: unknown;
}

export interface RequestOptions {
  /** Sent as JSON unless `raw` is given. */
  body?: unknown;
  /** A raw body, sent as is (with `application/json` unless headers say otherwise). */
  raw?: string | Uint8Array;
  /** The bearer key; the bootstrap key by default, `null` for none. */
  key?: string | null;
  headers?: Record<string, string>;
}

export interface TestServer extends AsyncDisposable {
  readonly url: string;
  readonly store: Store;
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
}

/**
 * The real HTTP server on loopback (an ephemeral port) over `database`, with the bootstrap key
 * `testBootstrapKey`, no rate limit nor throttle of failed keys unless asked, and a silent
 * logger. Dispose of it to stop it.
 */
export async function startTestServer(
  database: Database,
  options: Partial<Omit<AppOptions, 'store'>> = {},
): Promise<TestServer> {
  const store = createStore(database);
  const app = createApp({
    bootstrapKey: testBootstrapKey,
    rateLimit: false,
    authThrottle: false,
    logger: silentLogger,
    ...options,
    store,
  });
  const server = await serve({ app, port: 0 });
  return {
    url: server.url,
    store,
    request: (method, path, request) => requestJson(server.url, method, path, request),
    [Symbol.asyncDispose]: () => server.close(),
  };
}

/** One request to the API at `baseUrl`, with the bootstrap key unless told otherwise. */
export async function requestJson(
  baseUrl: string,
  method: string,
  path: string,
  request: RequestOptions = {},
): Promise<TestResponse> {
  const key = request.key === undefined ? testBootstrapKey : request.key;
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Bearer ${key}`;
  let body: string | Uint8Array | undefined;
  if (request.raw !== undefined) body = request.raw;
  else if (request.body !== undefined) body = JSON.stringify(request.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(new URL(path, baseUrl), {
    method,
    headers: { ...headers, ...request.headers },
    body,
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed };
}
