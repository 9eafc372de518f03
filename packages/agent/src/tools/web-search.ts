import { z } from 'zod';
import { type AgentTool, type ToolContext, ToolError, type WebSearchConfig } from './tool.ts';
import { failureFromError } from './tool-failure.ts';

export const WEB_SEARCH_DEFAULT_RESULTS = 5;
export const WEB_SEARCH_TIMEOUT_MS = 15_000;
const SNIPPET_MAX_CHARS = 400;

const TAVILY_ENDPOINT = 'https://api.tavily.com/search';
const BRAVE_ENDPOINT = 'https://api.search.brave.com/res/v1/web/search';

const inputSchema = z.object({
  query: z
    .string()
    .min(1)
    .describe(
      'What to search the web for, as you would type it into a search engine. Quote error ' +
        'messages, names and versions exactly where they matter.',
    ),
  max_results: z
    .number()
    .int()
    .min(1)
    .max(20)
    .optional()
    .describe(`How many results to return (default ${WEB_SEARCH_DEFAULT_RESULTS}, at most 20).`),
});

export type WebSearchInput = z.infer<typeof inputSchema>;

/** One search result as the model sees it. */
export interface WebSearchHit {
  title: string;
  url: string;
  snippet: string;
}

/**
 * `web_search`: searches the web through the configured provider (Tavily, Brave or a SearXNG
 * instance) and returns a numbered list of titles, URLs and snippets. The HTTP call is made from
 * the host, since the sandbox may have no network. Without a provider it tells the model so.
 */
export const webSearchTool: AgentTool<WebSearchInput> = {
  name: 'web_search',
  description:
    'Search the web. Returns a numbered list of results, each with its title, URL and a short ' +
    'snippet. Use it for documentation, error messages and facts newer than your training; ' +
    'fetch a page with bash (e.g. `curl -sL URL`) if the sandbox has network access and you ' +
    'need more than the snippet.',
  inputSchema,
  async execute(input, ctx) {
    const config = ctx.webSearch;
    if (!config) {
      return {
        output:
          'Web search is not configured, so no search was made. To enable it, set `webSearch` ' +
          "in the project or server configuration to { provider: 'tavily', apiKey }, " +
          "{ provider: 'brave', apiKey } or { provider: 'searxng', url }. Continue without web results.",
        isError: true,
        metadata: { configured: false },
      };
    }
    const max = input.max_results ?? WEB_SEARCH_DEFAULT_RESULTS;
    try {
      const hits = (await search(config, input.query, max, ctx)).slice(0, max);
      const via = providerName(config);
      if (hits.length === 0) {
        return {
          output: `No web results for ${JSON.stringify(input.query)} (via ${via}).`,
          metadata: { provider: config.provider, results: 0 },
        };
      }
      const list = hits
        .map((h, i) => `${i + 1}. ${h.title || '(untitled)'}\n   ${h.url}\n   ${h.snippet}`)
        .join('\n\n');
      return {
        output: `Web results for ${JSON.stringify(input.query)} (via ${via}):\n\n${list}`,
        metadata: { provider: config.provider, results: hits.length, urls: hits.map((h) => h.url) },
      };
    } catch (err) {
      return failureFromError(err, { provider: config.provider });
    }
  },
};

async function search(
  config: WebSearchConfig,
  query: string,
  max: number,
  ctx: ToolContext,
): Promise<WebSearchHit[]> {
  switch (config.provider) {
    case 'tavily': {
      const body = await request(config, ctx, config.endpoint ?? TAVILY_ENDPOINT, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${config.apiKey}`,
        },
        body: JSON.stringify({ query, max_results: max, search_depth: 'basic' }),
      });
      return list(body, 'results').map((r) => hit(r.title, r.url, r.content));
    }
    case 'brave': {
      const url = new URL(config.endpoint ?? BRAVE_ENDPOINT);
      url.searchParams.set('q', query);
      url.searchParams.set('count', String(max));
      const body = await request(config, ctx, url.href, {
        headers: { accept: 'application/json', 'x-subscription-token': config.apiKey },
      });
      const web = (body as { web?: unknown }).web;
      return list(web, 'results').map((r) => hit(r.title, r.url, r.description));
    }
    case 'searxng': {
      const url = new URL(`${config.url.replace(/\/+$/, '')}/search`);
      url.searchParams.set('q', query);
      url.searchParams.set('format', 'json');
      const body = await request(config, ctx, url.href, {
        headers: { accept: 'application/json' },
      });
      return list(body, 'results').map((r) => hit(r.title, r.url, r.content));
    }
  }
}

/** One HTTP call with the timeout and the run's abort signal; failures become ToolErrors. */
async function request(
  config: WebSearchConfig,
  ctx: ToolContext,
  url: string,
  init: RequestInit,
): Promise<unknown> {
  const name = providerName(config);
  let res: Response;
  try {
    res = await fetch(url, {
      ...init,
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(WEB_SEARCH_TIMEOUT_MS)]),
    });
  } catch (err) {
    if (ctx.signal.aborted)
      throw new ToolError('The web search was cancelled.', { cancelled: true });
    if ((err as Error).name === 'TimeoutError') {
      throw new ToolError(`${name} did not answer within ${WEB_SEARCH_TIMEOUT_MS / 1000} s.`, {
        timedOut: true,
      });
    }
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    throw new ToolError(`Could not reach ${name}: ${cause ?? (err as Error).message}.`);
  }
  if (!res.ok) {
    const text = (await res.text().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 300);
    const hint =
      config.provider === 'searxng' && res.status === 403
        ? ' (the instance must allow the json format: add `json` to search.formats in settings.yml)'
        : '';
    throw new ToolError(
      `Web search failed: ${name} answered HTTP ${res.status} ${res.statusText}${hint}${text ? `: ${text}` : ''}`,
      { status: res.status },
    );
  }
  try {
    return await res.json();
  } catch {
    throw new ToolError(`Web search failed: ${name} did not answer with JSON.`, {
      status: res.status,
    });
  }
}

function providerName(config: WebSearchConfig): string {
  return { tavily: 'Tavily', brave: 'Brave Search', searxng: 'SearXNG' }[config.provider];
}

/** `body[key]` as a list of records (an empty list when the provider sent something else). */
function list(body: unknown, key: string): Record<string, unknown>[] {
  const value =
    body && typeof body === 'object' ? (body as Record<string, unknown>)[key] : undefined;
  return Array.isArray(value)
    ? value.filter((v): v is Record<string, unknown> => !!v && typeof v === 'object')
    : [];
}

function hit(title: unknown, url: unknown, snippet: unknown): WebSearchHit {
  return {
    title: plain(title),
    url: typeof url === 'string' ? url : '',
    snippet: clip(plain(snippet)),
  };
}

/** Text without HTML tags, common entities or runs of whitespace (Brave marks matches with <strong>). */
function plain(value: unknown): string {
  if (typeof value !== 'string') return '';
  return value
    .replace(/<[^>]*>/g, '')
    .replace(/&(amp|lt|gt|quot|#39|apos|nbsp);/g, (_, e: string) => ENTITIES[e] ?? '')
    .replace(/\s+/g, ' ')
    .trim();
}

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  '#39': "'",
  apos: "'",
  nbsp: ' ',
};

function clip(text: string): string {
  if (text.length <= SNIPPET_MAX_CHARS) return text;
  const cut = text.slice(0, SNIPPET_MAX_CHARS);
  const space = cut.lastIndexOf(' ');
  return `${space > SNIPPET_MAX_CHARS * 0.7 ? cut.slice(0, space) : cut}…`;
}
