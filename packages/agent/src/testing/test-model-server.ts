import { randomBytes } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { anthropicMessagesWire } from './wire/anthropic-messages.ts';
import { openaiChatWire } from './wire/openai-chat.ts';
import { createOpenAIResponsesWire } from './wire/openai-responses.ts';

/** One answer of the scripted model. */
export interface ScriptedTurn {
  /** Reasoning ("thinking") text streamed before the answer, where the wire format supports it. */
  reasoning?: string;
  /** Answer text, streamed in several deltas. */
  text?: string;
  /** Tool calls the model makes in this turn (ids are generated). */
  toolCalls?: Array<{ name: string; input: unknown }>;
  /** Delay before the first byte / between deltas, to test cancellation and streaming. */
  delayMs?: number;
  /**
   * Answer only once this settles (after `delayMs`): holds the run in this model call for as long
   * as the test needs, whatever the machine's speed. A client gone meanwhile ends the answer.
   */
  hold?: PromiseLike<unknown>;
  /** Answer this turn with an HTTP error instead (status + provider-shaped error body). */
  error?: { status: number; message: string };
}

export interface TestModelServerOptions {
  /** Turns in order; each model request consumes the next one. */
  script?: ScriptedTurn[];
  /** Or compute the turn from the request (e.g. echo the last tool result); wins over script. */
  respond?: (request: RecordedRequest) => ScriptedTurn | Promise<ScriptedTurn>;
  /** When set, requests must carry this key (Authorization: Bearer or x-api-key) or get 401 in the provider's error shape. */
  apiKey?: string;
  /** Port on 127.0.0.1; default 0 = a free one. */
  port?: number;
}

/** A message of a recorded request, in a shape common to all wire formats. */
export interface RecordedMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  text?: string;
  toolCalls?: Array<{ id: string; name: string; input: unknown }>;
  toolResult?: { id: string; content: string };
}

/** A model request as the server received it. */
export interface RecordedRequest {
  api: 'openai-chat' | 'openai-responses' | 'anthropic-messages';
  model: string;
  /** Messages normalised to a simple common shape: role + text, tool calls, tool results (id, content). */
  messages: RecordedMessage[];
  tools: Array<{ name: string; description?: string; inputSchema: unknown }>;
  stream: boolean;
  raw: unknown;
}

/**
 * A scripted turn made concrete for one response: text split into deltas, ids and token
 * counts fixed. Wire formats only render it.
 */
export interface PlannedTurn {
  model: string;
  /** Unix seconds. */
  created: number;
  /** Random suffix for the response's ids (`chatcmpl-…`, `resp_…`, `msg_…`). */
  key: string;
  /** Reasoning deltas; empty when the turn has none. */
  reasoning: string[];
  /** Answer deltas; empty when the turn has no text. */
  text: string[];
  toolCalls: Array<{
    /** Random suffix each wire format turns into its id (`call_…`, `toolu_…`). */
    key: string;
    name: string;
    input: unknown;
    /** The input as JSON, whole and in the fragments it is streamed in. */
    arguments: string;
    fragments: string[];
  }>;
  usage: { inputTokens: number; outputTokens: number; reasoningTokens: number };
}

/** One server-sent event; `event` is the SSE event name where the format uses one. */
export interface SseFrame {
  event?: string;
  data: string;
}

/** A request body normalised by a wire format, or why it is a bad request. */
export type ParsedRequest =
  | { ok: true; request: Omit<RecordedRequest, 'raw'> }
  | { ok: false; message: string };

/** One provider's wire format: how to read its requests and how to write its answers. */
export interface WireFormat {
  readonly api: RecordedRequest['api'];
  parseRequest(body: unknown): ParsedRequest;
  /** The provider's error body for an HTTP error status. */
  errorBody(status: number, message: string): unknown;
  /** The streamed answer as SSE frames, in order. */
  streamFrames(turn: PlannedTurn, request: RecordedRequest): Iterable<SseFrame>;
  /** The non-streamed answer as a JSON body. */
  responseBody(turn: PlannedTurn, request: RecordedRequest): unknown;
}

const EXHAUSTED_TURN: ScriptedTurn = { text: '(script exhausted)' };
const LISTED_MODELS = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4-5', 'scripted-model'];

/**
 * A scripted language model behind a real HTTP server on loopback. It speaks the wire formats
 * of OpenAI Chat Completions (`POST /v1/chat/completions`), the OpenAI Responses API
 * (`POST /v1/responses`) and Anthropic Messages (`POST /v1/messages`), streamed and not, so
 * tests and `runtools dev` can use the real AI SDK providers without the internet.
 *
 * @example
 * await using server = await TestModelServer.start({
 *   script: [{ toolCalls: [{ name: 'bash', input: { command: 'ls' } }] }, { text: 'Done.' }],
 * });
 * const openai = createOpenAI({ baseURL: server.baseURL, apiKey: 'unused' });
 */
export class TestModelServer {
  /** e.g. `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Base URL to hand to providers (OpenAI, OpenAI-compatible and Anthropic): `${url}/v1`. */
  readonly baseURL: string;
  /** Every model request received, in order (bad and unauthorised requests excluded). */
  readonly requests: RecordedRequest[] = [];
  /**
   * Every credential header value received (`authorization`, `x-api-key`, `x-goog-api-key`), of
   * every request, bad and unauthorised ones included: what a key-leak test looks through.
   */
  readonly credentials: string[] = [];
  /**
   * How many streamed answers ended before their last delta because the client went away (or the
   * server closed): lets a test see that a cancel reached the model call while it was streaming,
   * without timing it.
   */
  get answersCut(): number {
    return this.#answersCut;
  }

  #answersCut = 0;
  readonly #server: Server;
  readonly #script: ScriptedTurn[];
  readonly #respond: TestModelServerOptions['respond'];
  readonly #apiKey: string | undefined;
  readonly #inFlight = new Set<AbortController>();
  readonly #routes: Map<string, WireFormat>;

  private constructor(server: Server, options: TestModelServerOptions) {
    this.#server = server;
    this.#script = [...(options.script ?? [])];
    this.#respond = options.respond;
    this.#apiKey = options.apiKey;
    this.#routes = new Map<string, WireFormat>([
      ['/v1/chat/completions', openaiChatWire],
      ['/v1/responses', createOpenAIResponsesWire()],
      ['/v1/messages', anthropicMessagesWire],
    ]);
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    this.baseURL = `${this.url}/v1`;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      for (const name of ['authorization', 'x-api-key', 'x-goog-api-key']) {
        const value = req.headers[name];
        if (value !== undefined) this.credentials.push(...[value].flat());
      }
      this.#handle(req, res).catch(() => {
        // #handle answers its own errors; this only guards a response torn down mid-answer.
        res.destroy();
      });
    });
  }

  /** Starts a server on 127.0.0.1 and resolves once it listens. */
  static async start(options: TestModelServerOptions = {}): Promise<TestModelServer> {
    const server = createServer({ keepAliveTimeout: 1000 });
    server.on('clientError', (_error, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new TestModelServer(server, options);
  }

  /** Appends turns to the script. */
  push(...turns: ScriptedTurn[]): void {
    this.#script.push(...turns);
  }

  /** Drops the turns not answered yet, so what one test left over never answers the next one. */
  clearScript(): void {
    this.#script.length = 0;
  }

  /** Stops answering, cuts open streams and connections, and resolves once the port is free. */
  async close(): Promise<void> {
    for (const controller of this.#inFlight) controller.abort();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const controller = new AbortController();
    this.#inFlight.add(controller);
    // A client that goes away mid-answer ends the answer, nothing else.
    res.on('close', () => controller.abort());
    res.on('error', () => controller.abort());
    try {
      await this.#answer(req, res, controller.signal);
    } catch (error) {
      if (controller.signal.aborted) return;
      if (!res.headersSent) {
        const wire = this.#routes.get(pathOf(req)) ?? errorShapeFor(req.headers);
        sendJson(res, 500, wire.errorBody(500, `test model server: ${String(error)}`));
      } else {
        res.destroy();
      }
    } finally {
      this.#inFlight.delete(controller);
    }
  }

  async #answer(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const path = pathOf(req);
    const wire = this.#routes.get(path);
    const shape = wire ?? errorShapeFor(req.headers);

    if (this.#apiKey !== undefined && apiKeyOf(req.headers) !== this.#apiKey) {
      const message =
        shape.api === 'anthropic-messages'
          ? 'invalid x-api-key'
          : 'Incorrect API key provided. You can use the key the test model server was started with.';
      sendJson(res, 401, shape.errorBody(401, message));
      return;
    }
    if (req.method === 'GET' && path === '/v1/models') {
      sendJson(res, 200, this.#modelList(shape.api === 'anthropic-messages'));
      return;
    }
    if (wire === undefined || req.method !== 'POST') {
      sendJson(res, 404, shape.errorBody(404, `Unknown request URL: ${req.method} ${path}`));
      return;
    }

    const bodyText = await readBody(req);
    let body: unknown;
    try {
      body = JSON.parse(bodyText);
    } catch {
      sendJson(res, 400, wire.errorBody(400, 'The request body is not valid JSON.'));
      return;
    }
    const parsed = wire.parseRequest(body);
    if (!parsed.ok) {
      sendJson(res, 400, wire.errorBody(400, parsed.message));
      return;
    }
    const request: RecordedRequest = { ...parsed.request, raw: body };
    this.requests.push(request);

    const turn = await this.#nextTurn(request);
    const delayMs = turn.delayMs ?? 0;
    if (!(await pause(delayMs, signal))) return;
    if (turn.hold !== undefined && !(await settled(turn.hold, signal))) return;
    if (turn.error !== undefined) {
      sendJson(res, turn.error.status, wire.errorBody(turn.error.status, turn.error.message));
      return;
    }

    const planned = planTurn(turn, request);
    if (!request.stream) {
      sendJson(res, 200, wire.responseBody(planned, request));
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      ...requestIdHeader(),
    });
    res.flushHeaders();
    let first = true;
    for (const frame of wire.streamFrames(planned, request)) {
      if ((!first && !(await pause(delayMs, signal))) || signal.aborted) {
        this.#answersCut++;
        return;
      }
      first = false;
      res.write(formatFrame(frame));
    }
    res.end();
  }

  async #nextTurn(request: RecordedRequest): Promise<ScriptedTurn> {
    if (this.#respond !== undefined) return await this.#respond(request);
    return this.#script.shift() ?? EXHAUSTED_TURN;
  }

  #modelList(anthropic: boolean): unknown {
    const ids = [...new Set([...LISTED_MODELS, ...this.requests.map((r) => r.model)])];
    if (anthropic) {
      const data = ids.map((id) => ({
        type: 'model',
        id,
        display_name: `${id} (scripted)`,
        created_at: '2025-01-01T00:00:00Z',
      }));
      return { data, has_more: false, first_id: ids[0] ?? null, last_id: ids.at(-1) ?? null };
    }
    const data = ids.map((id) => ({
      id,
      object: 'model',
      created: 1735689600,
      owned_by: 'runtools-scripted',
    }));
    return { object: 'list', data };
  }
}

/** Splits a turn into deltas and counts tokens (roughly four characters a token). */
function planTurn(turn: ScriptedTurn, request: RecordedRequest): PlannedTurn {
  const toolCalls = (turn.toolCalls ?? []).map((call) => {
    const args = JSON.stringify(call.input ?? {});
    return {
      key: randomKey(),
      name: call.name,
      input: call.input,
      arguments: args,
      fragments: fragmentsOf(args),
    };
  });
  const reasoningTokens = tokensOf(turn.reasoning ?? '');
  const outputTokens =
    reasoningTokens +
    tokensOf(turn.text ?? '') +
    toolCalls.reduce((n, c) => n + tokensOf(c.name + c.arguments), 0);
  const inputChars =
    request.messages.reduce(
      (n, m) =>
        n +
        (m.text?.length ?? 0) +
        (m.toolResult?.content.length ?? 0) +
        (m.toolCalls === undefined ? 0 : JSON.stringify(m.toolCalls).length),
      0,
    ) + (request.tools.length === 0 ? 0 : JSON.stringify(request.tools).length);
  return {
    model: request.model,
    created: Math.floor(Date.now() / 1000),
    key: randomKey(),
    reasoning: deltasOf(turn.reasoning ?? ''),
    text: deltasOf(turn.text ?? ''),
    toolCalls,
    usage: {
      inputTokens: Math.max(1, Math.ceil(inputChars / 4)),
      outputTokens: Math.max(1, outputTokens),
      reasoningTokens,
    },
  };
}

/** Word by word, as models stream; at least three deltas when the text has three characters. */
function deltasOf(text: string): string[] {
  if (text === '') return [];
  const words = text.match(/\s*\S+\s*/g) ?? [text];
  if (words.length >= 3) return words;
  return fragmentsOf(text, 3);
}

/** Fixed-size pieces: tool arguments arrive cut mid-key and mid-value, as real streams cut them. */
function fragmentsOf(text: string, pieces = 4): string[] {
  if (text.length <= 1) return [text];
  const size = Math.ceil(text.length / Math.min(pieces, text.length));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function tokensOf(text: string): number {
  return Math.ceil(text.length / 4);
}

function randomKey(): string {
  return randomBytes(12).toString('hex');
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') || '/';
}

function apiKeyOf(headers: IncomingHttpHeaders): string | undefined {
  const xApiKey = headers['x-api-key'];
  if (typeof xApiKey === 'string') return xApiKey;
  const match = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '');
  return match?.[1];
}

/** Anthropic clients send `anthropic-version`; everything else gets OpenAI-shaped errors. */
function errorShapeFor(headers: IncomingHttpHeaders): WireFormat {
  return headers['anthropic-version'] !== undefined ? anthropicMessagesWire : openaiChatWire;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Waits for `hold` to settle; false when the request was aborted first. */
async function settled(hold: PromiseLike<unknown>, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  let onAbort = () => {};
  const aborted = new Promise<false>((resolve) => {
    onAbort = () => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  const done = Promise.resolve(hold).then(
    () => true,
    () => true,
  );
  try {
    return await Promise.race([done, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Waits `ms`; false when the request was aborted first (client gone or server closing). */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (ms <= 0) return true;
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

function formatFrame(frame: SseFrame): string {
  return `${frame.event === undefined ? '' : `event: ${frame.event}\n`}data: ${frame.data}\n\n`;
}

function requestIdHeader(): Record<string, string> {
  const id = `req_${randomKey()}`;
  return { 'x-request-id': id, 'request-id': id };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...requestIdHeader(),
  });
  res.end(text);
}
