import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Sandbox } from '@runtools/sandbox';
import { waitFor } from '@runtools/sandbox/testing';
import type { ToolContext, WebSearchConfig } from './tool.ts';
import { webSearchTool } from './web-search.ts';

interface Seen {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * Fake search providers on 127.0.0.1 that answer in each provider's JSON format:
 * SearXNG (`/searx/search`), Brave (`/brave`), Tavily (`/tavily`); `/fail` answers 502 and
 * `/slow` never answers.
 */
describe('web_search tool', () => {
  let server: Server;
  let base = '';
  const seen: Seen[] = [];

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        seen.push({ method: req.method ?? '', url, headers: req.headers, body });
        const json = (status: number, value: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(value));
        };
        if (url.pathname === '/searx/search') {
          json(200, {
            query: url.searchParams.get('q'),
            number_of_results: 3,
            results: [1, 2, 3].map((i) => ({
              url: `https://example.org/${i}`,
              title: `Result &amp; title ${i}`,
              content: `Snippet <b>${i}</b>   with\n spaces and ${'long '.repeat(i === 3 ? 120 : 1)}text.`,
              engine: 'duckduckgo',
              score: 1 / i,
            })),
            answers: [],
            suggestions: [],
          });
        } else if (url.pathname === '/brave') {
          json(200, {
            type: 'search',
            web: {
              type: 'search',
              results: [
                {
                  title: 'Brave hit',
                  url: 'https://brave.example/a',
                  description: 'A <strong>bold</strong> claim.',
                },
              ],
            },
          });
        } else if (url.pathname === '/tavily') {
          json(200, {
            query: JSON.parse(body).query,
            results: [
              {
                title: 'Tavily hit',
                url: 'https://tavily.example/t',
                content: 'From Tavily.',
                score: 0.9,
              },
            ],
          });
        } else if (url.pathname === '/fail/search') {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end('upstream exploded');
        } else if (url.pathname === '/empty/search') {
          json(200, { results: [] });
        }
        // anything else: never answer
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  /** web_search never touches the sandbox: the HTTP call runs on the host. */
  const ctx = (
    webSearch?: WebSearchConfig,
    signal = new AbortController().signal,
  ): ToolContext => ({
    sandbox: undefined as unknown as Sandbox,
    signal,
    state: {},
    ...(webSearch ? { webSearch } : {}),
  });
  const search = (input: unknown, c: ToolContext) =>
    webSearchTool.execute(webSearchTool.inputSchema.parse(input), c);

  it('says that web search is not configured, and how to configure it', async () => {
    const r = await search({ query: 'anything' }, ctx());
    assert.equal(r.isError, true);
    assert.match(r.output, /^Web search is not configured, so no search was made\./);
    assert.match(r.output, /provider: 'searxng', url/);
    assert.deepEqual(r.metadata, { configured: false });
  });

  it('searches a SearXNG instance and returns a numbered list of results', async () => {
    const r = await search(
      { query: 'node test runner', max_results: 3 },
      ctx({ provider: 'searxng', url: `${base}/searx/` }),
    );
    assert.equal(r.isError, undefined, r.output);
    const request = seen.at(-1);
    assert.equal(request?.url.pathname, '/searx/search');
    assert.equal(request?.url.searchParams.get('q'), 'node test runner');
    assert.equal(request?.url.searchParams.get('format'), 'json');
    const [head, first, second, third] = r.output.split('\n\n');
    assert.equal(head, 'Web results for "node test runner" (via SearXNG):');
    assert.equal(
      first,
      '1. Result & title 1\n   https://example.org/1\n   Snippet 1 with spaces and long text.',
    );
    assert.match(second ?? '', /^2\. Result & title 2\n {3}https:\/\/example\.org\/2\n/);
    assert.ok((third ?? '').endsWith('…'), 'a long snippet is clipped');
    assert.ok((third ?? '').length < 500);
    assert.deepEqual(r.metadata?.urls, [
      'https://example.org/1',
      'https://example.org/2',
      'https://example.org/3',
    ]);
  });

  it('returns at most max_results results', async () => {
    const r = await search(
      { query: 'q', max_results: 1 },
      ctx({ provider: 'searxng', url: `${base}/searx` }),
    );
    assert.equal(r.metadata?.results, 1);
    assert.ok(!r.output.includes('2. '));
  });

  it('says when there are no results', async () => {
    const r = await search({ query: 'zzz' }, ctx({ provider: 'searxng', url: `${base}/empty` }));
    assert.equal(r.isError, undefined);
    assert.equal(r.output, 'No web results for "zzz" (via SearXNG).');
  });

  it('turns a provider HTTP error into a tool error with the status', async () => {
    const r = await search({ query: 'q' }, ctx({ provider: 'searxng', url: `${base}/fail` }));
    assert.equal(r.isError, true);
    assert.equal(
      r.output,
      'Web search failed: SearXNG answered HTTP 502 Bad Gateway: upstream exploded',
    );
    assert.equal(r.metadata?.status, 502);
  });

  it('stops waiting when the run is cancelled', async () => {
    // Cancelled once the request is waiting on the server (which never answers it).
    const ac = new AbortController();
    const earlier = seen.length;
    const searching = search(
      { query: 'q' },
      ctx({ provider: 'searxng', url: `${base}/slow` }, ac.signal),
    );
    await waitFor(() => seen.slice(earlier).some((s) => s.url.pathname.startsWith('/slow')));
    ac.abort();
    const r = await searching;
    assert.equal(r.isError, true);
    assert.equal(r.output, 'The web search was cancelled.');
  });

  it('speaks the Brave Search API', async () => {
    const r = await search(
      { query: 'brave query', max_results: 2 },
      ctx({ provider: 'brave', apiKey: 'brave-key', endpoint: `${base}/brave` }),
    );
    const request = seen.at(-1);
    assert.equal(request?.method, 'GET');
    assert.equal(request?.headers['x-subscription-token'], 'brave-key');
    assert.equal(request?.url.searchParams.get('q'), 'brave query');
    assert.equal(request?.url.searchParams.get('count'), '2');
    assert.match(r.output, /1\. Brave hit\n {3}https:\/\/brave\.example\/a\n {3}A bold claim\./);
  });

  it('speaks the Tavily API', async () => {
    const r = await search(
      { query: 'tavily query' },
      ctx({ provider: 'tavily', apiKey: 'tvly-key', endpoint: `${base}/tavily` }),
    );
    const request = seen.at(-1);
    assert.equal(request?.method, 'POST');
    assert.equal(request?.headers.authorization, 'Bearer tvly-key');
    assert.deepEqual(JSON.parse(request?.body ?? '{}'), {
      query: 'tavily query',
      max_results: 5,
      search_depth: 'basic',
    });
    assert.match(r.output, /1\. Tavily hit\n {3}https:\/\/tavily\.example\/t\n {3}From Tavily\./);
  });
});
