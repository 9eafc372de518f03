import type {
  Page,
  PageParams,
  Template,
  TemplateBuild,
  TemplateInput,
  TemplateLogEvent,
  TemplatePatch,
} from '../api/index.ts';
import { RunToolsError } from '../errors.ts';
import { resumableStream, StreamInterrupted } from './resumable-stream.ts';
import type { ClientTransport } from './sandboxes-client.ts';

export interface TemplateLogOptions {
  /** Only lines after this seq (default 0: the whole log). */
  after?: number;
  /** Stops the stream; iterating throws the signal's reason. */
  signal?: AbortSignal;
  /** Reconnections in a row without a new line before giving up (default 5). */
  maxRetries?: number;
  /** The first reconnect delay in ms, doubled per retry in a row (default 200). */
  retryDelayMs?: number;
}

export interface WaitForBuildOptions {
  /** The build to wait for (default: the latest build of the template's current definition). */
  buildId?: string;
  /** Called with each log line, from the first. */
  onLog?: (line: string) => void;
  signal?: AbortSignal;
}

/** `rt.templates`: template definitions, their builds and build logs. */
export interface TemplatesClient {
  /**
   * Defines a template (or replaces its definition) and starts its build on the server; the same
   * definition again changes nothing. Follow the build with `waitForBuild` or `logs`.
   *
   * @example
   * await rt.templates.create({ slug: 'my-app', dockerfile: 'FROM nodejs-20\nCOPY app /app', files: { app: '…' } });
   * const template = await rt.templates.waitForBuild('my-app', { onLog: console.log });
   */
  create(input: TemplateInput): Promise<Template>;
  get(slug: string): Promise<Template>;
  /** Changes part of the definition (the rest stays) and builds it; unchanged is a no-op. */
  update(slug: string, patch: TemplatePatch): Promise<Template>;
  /** System and defined templates, in slug order. */
  list(params?: PageParams): Promise<Page<Template>>;
  /** Refused (409 `template_in_use`) while a deployment or a sandbox uses it. */
  delete(slug: string): Promise<void>;
  builds: {
    list(slug: string, params?: PageParams): Promise<Page<TemplateBuild>>;
    get(slug: string, buildId: string): Promise<TemplateBuild>;
    /** Builds the current definition again on the server (joins a build of it in progress). */
    create(slug: string): Promise<TemplateBuild>;
  };
  /**
   * A build's log lines as they are written, then one `status` item with the build as it ended.
   * A dropped connection is resumed after the last line seen.
   */
  logs(
    slug: string,
    buildId: string,
    options?: TemplateLogOptions,
  ): AsyncIterable<TemplateLogEvent>;
  /**
   * Resolves with the template once its build is ready; throws `template_build_failed` (or
   * `template_build_cancelled`) with the build in `details.build` otherwise. A template defined on
   * a server without a sandbox engine has no build yet: it is returned as it is (`pending`).
   */
  waitForBuild(slug: string, options?: WaitForBuildOptions): Promise<Template>;
}

const enc = (value: string) => encodeURIComponent(value);

function buildLog(
  transport: ClientTransport,
  path: string,
  options: TemplateLogOptions,
): AsyncGenerator<TemplateLogEvent> {
  return resumableStream<TemplateLogEvent>({
    ...options,
    name: 'The build log stream',
    open: (after, signal) =>
      transport.fetch(`${path}?after=${after}`, {
        method: 'GET',
        headers: { accept: 'text/event-stream', 'last-event-id': String(after) },
        signal,
      }),
    read: (frame) => {
      const data = JSON.parse(frame.data) as Record<string, unknown>;
      if (frame.event === 'log') {
        const seq = Number(data.seq);
        return { item: { type: 'log', seq, line: String(data.line) }, seq };
      }
      if (frame.event === 'status') {
        return { item: { type: 'status', build: data as unknown as TemplateBuild }, end: true };
      }
      throw new StreamInterrupted(`the server ended the stream: ${frame.data.slice(0, 200)}`);
    },
  });
}

/** The `rt.templates` of a `RunTools` client. */
export function templatesClient(transport: ClientTransport): TemplatesClient {
  const { request } = transport;
  const client: TemplatesClient = {
    create: (input) => request('POST', '/v1/templates', { body: input }),
    get: (slug) => request('GET', `/v1/templates/${enc(slug)}`),
    update: (slug, patch) => request('PATCH', `/v1/templates/${enc(slug)}`, { body: patch }),
    list: (params) => request('GET', '/v1/templates', { query: { ...params } }),
    delete: (slug) => request('DELETE', `/v1/templates/${enc(slug)}`),
    builds: {
      list: (slug, params) =>
        request('GET', `/v1/templates/${enc(slug)}/builds`, { query: { ...params } }),
      get: (slug, buildId) => request('GET', `/v1/templates/${enc(slug)}/builds/${enc(buildId)}`),
      create: (slug) => request('POST', `/v1/templates/${enc(slug)}/builds`),
    },
    logs: (slug, buildId, options = {}) => ({
      [Symbol.asyncIterator]: () =>
        buildLog(transport, `/v1/templates/${enc(slug)}/builds/${enc(buildId)}/logs`, options),
    }),
    async waitForBuild(slug, options = {}) {
      const template = await client.get(slug);
      const buildId = options.buildId ?? template.build?.id;
      if (buildId === undefined) return template;
      let build = await client.builds.get(slug, buildId);
      if (!['ready', 'failed', 'cancelled'].includes(build.status) || options.onLog) {
        const after = options.onLog ? 0 : build.logLines;
        for await (const item of client.logs(slug, buildId, { after, signal: options.signal })) {
          if (item.type === 'log') options.onLog?.(item.line);
          else build = item.build;
        }
      }
      if (build.status !== 'ready') {
        const code =
          build.status === 'cancelled' ? 'template_build_cancelled' : 'template_build_failed';
        throw new RunToolsError(
          code,
          `The build ${build.id} of template "${slug}" ${build.status}` +
            `${build.error ? `: ${build.error.message}` : '.'}`,
          { details: { build } },
        );
      }
      return client.get(slug);
    },
  };
  return client;
}
