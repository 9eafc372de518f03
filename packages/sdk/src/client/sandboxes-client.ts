import type { ErrorCode } from '../api/error-codes.ts';
import type {
  BackgroundStarted,
  DirectoryListing,
  ExecInput,
  ExecResult,
  ListeningPort,
  Page,
  PortGrant,
  Sandbox,
  SandboxInput,
  SandboxListParams,
} from '../api/index.ts';
import { RunToolsError } from '../errors.ts';
import { networkError, RunToolsApiError } from './api-error.ts';
import { readFrames } from './resumable-stream.ts';

/** How the sandbox client reaches the API; `RunTools` supplies it. */
export interface ClientTransport {
  readonly baseUrl: string;
  /** A JSON request; a non-2xx answer throws `RunToolsApiError`. */
  request<T>(
    method: string,
    path: string,
    options?: {
      body?: unknown;
      query?: Record<string, string | number | undefined | null>;
      signal?: AbortSignal;
    },
  ): Promise<T>;
  /** A request with the API key whose response the caller reads (raw bytes, SSE). */
  fetch(path: string, init: RequestInit): Promise<Response>;
}

export interface ExecOptions extends ExecInput {
  /** Called with each chunk of standard output as it comes (the request is then streamed). */
  onStdout?: (text: string) => void;
  /** Called with each chunk of standard error as it comes (the request is then streamed). */
  onStderr?: (text: string) => void;
  /** Aborting kills the command. */
  signal?: AbortSignal;
}

/** `rt.sandboxes`: sandboxes, their commands, files and ports. */
export interface SandboxesClient {
  create(input: SandboxInput): Promise<Sandbox>;
  get(id: string): Promise<Sandbox>;
  /** Running and paused sandboxes, oldest first. */
  list(params?: SandboxListParams): Promise<Page<Sandbox>>;
  /**
   * Runs a command and resolves with its result (a non-zero exit is a result, not an error).
   * With `onStdout`/`onStderr` the output streams in as it is written. With `background: true`
   * it resolves at once with the pid.
   *
   * @example
   * const { exitCode, stdout } = await rt.sandboxes.exec(id, { command: 'ls /' });
   * await rt.sandboxes.exec(id, { command: 'npm test', onStdout: (t) => process.stdout.write(t) });
   */
  exec(id: string, options: ExecOptions & { background: true }): Promise<BackgroundStarted>;
  exec(id: string, options: ExecOptions): Promise<ExecResult>;
  /** Checkpoints every process to disk and stops them; `resume` restores them as they were. */
  pause(id: string): Promise<Sandbox>;
  resume(id: string): Promise<Sandbox>;
  /** Pauses or stops the sandbox (per its `onTimeout`) `ms` from now; 0 removes the timeout. */
  setTimeout(id: string, ms: number): Promise<Sandbox>;
  delete(id: string): Promise<void>;
  files: {
    /** A file's bytes. */
    read(id: string, path: string, options?: { signal?: AbortSignal }): Promise<Uint8Array>;
    /**
     * Creates or replaces a file (and missing parent directories); a string is written as UTF-8,
     * a Blob (a browser's `File`) is streamed from where it is.
     */
    write(
      id: string,
      path: string,
      data: string | Uint8Array | Blob,
      options?: { signal?: AbortSignal },
    ): Promise<{ path: string; size: number }>;
    /** A directory's entries. */
    list(id: string, path: string): Promise<DirectoryListing>;
    /** Removes a file, a symlink or a directory tree. */
    remove(id: string, path: string): Promise<void>;
  };
  ports: {
    /** The TCP ports something listens on inside a running sandbox, each with its URL. */
    list(id: string): Promise<ListeningPort[]>;
    /**
     * A link that opens `port` in a browser without the API key: valid once, for a minute (the
     * proxy trades it for the port's cookie). For handing a port to a browser from a script.
     *
     * @example
     * const { url } = await rt.sandboxes.ports.grant(id, 3000);
     * spawn('xdg-open', [url]);
     */
    grant(id: string, port: number): Promise<PortGrant>;
  };
  /**
   * The URL of a port's HTTP server through the API's proxy. Given the sandbox (as the API
   * returned it), the URL the server advertises: its own host name when the server has a domain
   * (each port a separate browser origin: use that for pages); given only an id, the path under
   * the API. It needs the API key: as `Authorization: Bearer`, or (for a browser) appended once
   * as `?token=KEY`, which the proxy trades for a cookie and removes from the URL.
   */
  portUrl(sandbox: string | Pick<Sandbox, 'portUrl'>, port: number): string;
}

const enc = (value: string) => encodeURIComponent(value);

/** @internal builds `rt.sandboxes` over the client's transport. */
export function sandboxesClient(transport: ClientTransport): SandboxesClient {
  const { request } = transport;
  const base = (id: string) => `/v1/sandboxes/${enc(id)}`;
  const filesPath = (id: string, path: string) => `${base(id)}/files?path=${enc(path)}`;

  /** A raw request: network failures and non-2xx answers become the client's typed errors. */
  const send = async (path: string, init: RequestInit, what: string): Promise<Response> => {
    let response: Response;
    try {
      response = await transport.fetch(path, init);
    } catch (error) {
      if (init.signal?.aborted) throw init.signal.reason;
      throw networkError(error, what);
    }
    if (!response.ok) throw await RunToolsApiError.fromResponse(response);
    return response;
  };

  const streamExec = async (id: string, options: ExecOptions): Promise<ExecResult> => {
    const { onStdout, onStderr, signal, ...input } = options;
    const what = `POST ${base(id)}/exec`;
    const response = await send(
      `${base(id)}/exec`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify(input),
        signal,
      },
      what,
    );
    if (response.body === null) {
      throw new RunToolsError('invalid_response', `${what}: the answer has no body.`);
    }
    try {
      for await (const frame of readFrames(response.body)) {
        const data = JSON.parse(frame.data) as Record<string, unknown>;
        if (frame.event === 'stdout') onStdout?.(String(data.text));
        else if (frame.event === 'stderr') onStderr?.(String(data.text));
        else if (frame.event === 'exit') return data as unknown as ExecResult;
        else if (frame.event === 'error') {
          const error = (data as { error?: { code?: ErrorCode; message?: string } }).error;
          throw new RunToolsApiError(
            response.status,
            error?.code ?? 'internal_error',
            error?.message ?? 'The command failed.',
          );
        }
      }
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof RunToolsError) throw error;
      throw networkError(error, what);
    }
    throw new RunToolsError('network_error', `${what}: the stream ended before the command did.`);
  };

  function exec(
    id: string,
    options: ExecOptions & { background: true },
  ): Promise<BackgroundStarted>;
  function exec(id: string, options: ExecOptions): Promise<ExecResult>;
  function exec(
    id: string,
    options: ExecOptions & { background?: boolean },
  ): Promise<ExecResult | BackgroundStarted> {
    if (options.background !== true && (options.onStdout || options.onStderr)) {
      return streamExec(id, options);
    }
    const { onStdout: _out, onStderr: _err, signal, ...input } = options;
    return request(`POST`, `${base(id)}/exec`, { body: input, signal });
  }

  return {
    create: (input) => request('POST', '/v1/sandboxes', { body: input }),
    get: (id) => request('GET', base(id)),
    list: (params) => request('GET', '/v1/sandboxes', { query: { ...params } }),
    exec,
    pause: (id) => request('POST', `${base(id)}/pause`),
    resume: (id) => request('POST', `${base(id)}/resume`),
    setTimeout: (id, ms) => request('PATCH', base(id), { body: { timeoutMs: ms } }),
    delete: (id) => request('DELETE', base(id)),
    files: {
      async read(id, path, options = {}) {
        const what = `GET ${filesPath(id, path)}`;
        const response = await send(
          filesPath(id, path),
          {
            method: 'GET',
            headers: { accept: 'application/octet-stream' },
            signal: options.signal,
          },
          what,
        );
        if (response.headers.get('content-type')?.startsWith('application/json')) {
          await response.body?.cancel();
          throw new RunToolsError('is_a_directory', `${path} is a directory; use files.list().`, {
            details: { path },
          });
        }
        try {
          return new Uint8Array(await response.arrayBuffer());
        } catch (error) {
          throw networkError(error, what);
        }
      },
      async write(id, path, data, options = {}) {
        const what = `PUT ${filesPath(id, path)}`;
        const response = await send(
          filesPath(id, path),
          {
            method: 'PUT',
            headers: { 'content-type': 'application/octet-stream', accept: 'application/json' },
            // A view over a plain ArrayBuffer, which is what the DOM's BodyInit accepts.
            body:
              typeof data === 'string'
                ? new TextEncoder().encode(data)
                : data instanceof Blob
                  ? data
                  : (data as Uint8Array<ArrayBuffer>),
            signal: options.signal,
          },
          what,
        );
        return (await response.json()) as { path: string; size: number };
      },
      async list(id, path) {
        const what = `GET ${filesPath(id, path)}`;
        const response = await send(
          filesPath(id, path),
          { method: 'GET', headers: { accept: 'application/json' } },
          what,
        );
        if (!response.headers.get('content-type')?.startsWith('application/json')) {
          await response.body?.cancel();
          throw new RunToolsError('not_a_directory', `${path} is not a directory.`, {
            details: { path },
          });
        }
        return (await response.json()) as DirectoryListing;
      },
      remove: (id, path) => request('DELETE', filesPath(id, path)),
    },
    ports: {
      list: async (id) =>
        (await request<{ data: ListeningPort[] }>('GET', `${base(id)}/ports`)).data,
      grant: (id, port) => request('POST', `${base(id)}/port-grants`, { body: { port } }),
    },
    portUrl: (sandbox, port) =>
      typeof sandbox === 'string'
        ? `${transport.baseUrl}${base(sandbox)}/ports/${port}/`
        : sandbox.portUrl.replace('{port}', String(port)),
  };
}
