import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AddressPolicy,
  createPinnedFetch,
  loopbackRanges,
  type PinnedFetch,
} from '@runtools/agent';
import { FakeGitHub, FakeSlack, TestModelServer } from '@runtools/agent/testing';
import { waitFor } from '@runtools/sandbox/testing';
import type { Run, RunEvent } from '@runtools/sdk';
import { RunTools } from '@runtools/sdk/client';
import { type Database, openDatabase } from '../db/database.ts';
import { type ControlPlane, startControlPlane } from '../testing/control-plane.ts';
import { testBootstrapKey } from '../testing/test-server.ts';

const githubToken = 'ghp_e2eTOKEN0123456789abcdefghijklmnop';
const slackToken = 'xoxb-e2e-0123456789-abcdefghijklmnopqrst';
const wrongToken = 'ghp_WRONGwrongWRONGwrongWRONGwrong0000';

describe('marketplace integrations in runs (sqlite, real sandboxes, the scripted model, loopback fakes)', () => {
  const dbDir = mkdtempSync(join(tmpdir(), 'runtools-integrations-'));
  let database: Database;
  let model: TestModelServer;
  let github: FakeGitHub;
  let slack: FakeSlack;
  let fetch: PinnedFetch;
  let cp: ControlPlane;
  let rt: RunTools;

  async function deploy(slug: string, tools: unknown[]): Promise<string> {
    const runtime = await cp.request('POST', '/v1/runtimes', {
      body: {
        slug,
        model: { provider: 'custom', endpoint: `${model.url}/v1`, model: 'scripted' },
        systemPrompt: 'You triage bugs and tell the team.',
        tools,
      },
    });
    assert.equal(runtime.status, 201, JSON.stringify(runtime.body));
    const deployment = await cp.request('POST', '/v1/deployments', {
      body: {
        apiSlug: slug,
        runtimeId: (runtime.body as { id: string }).id,
        template: 'debian-13',
      },
    });
    assert.equal(deployment.status, 201, JSON.stringify(deployment.body));
    return (deployment.body as { id: string }).id;
  }

  async function run(slug: string, input: string): Promise<{ run: Run; events: RunEvent[] }> {
    const started = await cp.request('POST', `/v1/run/${slug}`, { body: { input, async: true } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const runId = (started.body as { runId: string }).runId;
    const ended = await waitFor(
      async () => {
        const r = await rt.runs.get(runId);
        return ['completed', 'failed', 'cancelled'].includes(r.status) ? r : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 50 },
    );
    return { run: ended, events: await cp.store.events.listSince(runId) };
  }

  const results = (events: RunEvent[]) =>
    events.flatMap((e) =>
      e.type === 'tool_result' ? [{ name: e.name, output: e.output, isError: e.isError }] : [],
    );

  before(async () => {
    database = await openDatabase({ kind: 'sqlite', dataDir: dbDir });
    model = await TestModelServer.start();
    github = await FakeGitHub.start(githubToken);
    slack = await FakeSlack.start(slackToken);
    // The operator allows loopback for integrations explicitly (the fakes listen there).
    fetch = createPinnedFetch({ policy: new AddressPolicy({ allow: loopbackRanges }) });
    cp = await startControlPlane(database, {
      worker: {
        integrations: { baseUrls: { github: github.url, slack: slack.apiUrl }, fetch },
      },
    });
    rt = new RunTools({ baseUrl: cp.url, apiKey: testBootstrapKey });
    await rt.secrets.set({ name: 'GITHUB_TOKEN', value: githubToken });
    await rt.secrets.set({ name: 'SLACK_BOT_TOKEN', value: slackToken });
  });

  after(async () => {
    await cp?.close();
    await fetch?.close();
    await github?.close();
    await slack?.close();
    await model?.close();
    await database?.close();
    rmSync(dbDir, { recursive: true, force: true });
  });

  it('one agent uses GitHub and Slack (through a rate limit); no token reaches the sandbox, an event or the run', async () => {
    await deploy('triage', ['bash', 'github', { slack: ['post_message', 'read_channel_history'] }]);
    github.addIssue({ title: 'Crash on start', body: 'Stack trace inside', labels: ['bug'] });
    // The first search hits GitHub's secondary rate limit; the integration waits out retry-after.
    github.rateLimited('secondary');
    model.push(
      {
        toolCalls: [
          {
            name: 'github_search_issues',
            input: { query: 'repo:owner/repo crash', type: 'issue' },
          },
        ],
      },
      {
        toolCalls: [
          {
            name: 'github_comment_on_issue',
            input: { owner: 'owner', repo: 'repo', number: 1, body: 'Triaged.' },
          },
          {
            name: 'slack_post_message',
            input: { channel: '#general', text: 'Bug #1 triaged: Crash on start' },
          },
        ],
      },
      // What the workspace sandbox holds: the model looks for the tokens everywhere it can.
      {
        toolCalls: [
          {
            name: 'bash',
            input: {
              command:
                'env; cat /proc/*/environ 2>/dev/null | tr "\\0" "\\n"; grep -rs "ghp_\\|xoxb-" / --exclude-dir=proc --exclude-dir=sys -l | head',
            },
          },
        ],
      },
      { text: 'Triaged #1 and told #general.' },
    );
    const { run: done, events } = await run('triage', 'Triage new crash reports.');
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const r = results(events);
    assert.deepEqual(
      r.map((x) => [x.name, x.isError]),
      [
        ['github_search_issues', false],
        ['github_comment_on_issue', false],
        ['slack_post_message', false],
        ['bash', false],
      ],
    );
    assert.equal(JSON.parse(r[0]?.output ?? '{}').items[0].title, 'Crash on start');
    assert.equal(github.issues.get(1)?.comments[0]?.body, 'Triaged.');
    assert.equal(
      slack.channels.get('C0GENERAL')?.messages[0]?.text,
      'Bug #1 triaged: Crash on start',
    );
    assert.equal(
      github.requests.filter((q) => q.path === '/search/issues').length,
      2,
      'retried once',
    );
    assert.equal(github.requests.at(-1)?.headers.authorization, `token ${githubToken}`);
    // The model was shown the tools it enabled, and only those of Slack it named.
    const shown = model.requests[0]?.tools.map((t) => t.name) ?? [];
    assert.ok(shown.includes('github_create_pull_request'));
    assert.ok(shown.includes('slack_post_message'));
    assert.ok(!shown.includes('slack_list_channels'));
    // Everything the run produced: its events (the sandbox's env and files among them), the run
    // as the API shows it, and what the model was sent.
    const everything = JSON.stringify([events, done, await rt.runs.get(done.id), model.requests]);
    for (const token of [githubToken, slackToken])
      assert.ok(!everything.includes(token), 'a token leaked');
  });

  it("a deployment's own secret wins; a refused and a missing token are error results naming the secret, and the run goes on", async () => {
    const deploymentId = await deploy('other', [
      { github: ['get_issue'] },
      { slack: ['post_message'] },
    ]);
    await rt.secrets.set({ name: 'GITHUB_TOKEN', value: wrongToken, deploymentId });
    await rt.secrets.delete('SLACK_BOT_TOKEN');
    model.push(
      {
        toolCalls: [
          { name: 'github_get_issue', input: { owner: 'owner', repo: 'repo', number: 1 } },
          { name: 'slack_post_message', input: { channel: 'C0GENERAL', text: 'hello' } },
        ],
      },
      { text: 'I could not.' },
    );
    const { run: done, events } = await run('other', 'Report.');
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const r = results(events);
    assert.equal(r[0]?.isError, true);
    assert.match(r[0]?.output ?? '', /refused the token GITHUB_TOKEN/);
    assert.equal(r[1]?.isError, true);
    assert.match(
      r[1]?.output ?? '',
      /needs the secret SLACK_BOT_TOKEN.*runtools secrets set SLACK_BOT_TOKEN/,
    );
    assert.equal(github.requests.at(-1)?.headers.authorization, `token ${wrongToken}`);
    // Now with a Slack token again, and a Slack that echoes it in its error body (three times:
    // the client retries a 500 twice): the error result shows it masked.
    await rt.secrets.set({ name: 'SLACK_BOT_TOKEN', value: slackToken });
    const echo = (request: { headers: { authorization?: string } }) => ({
      status: 500,
      text: `proxy error for ${request.headers.authorization}`,
    });
    slack.answerNext(echo, echo, echo);
    model.push(
      {
        toolCalls: [{ name: 'slack_post_message', input: { channel: 'C0GENERAL', text: 'again' } }],
      },
      { text: 'Done.' },
    );
    const second = await run('other', 'Report again.');
    const echoed = results(second.events)[0];
    assert.equal(echoed?.isError, true);
    assert.match(echoed?.output ?? '', /HTTP 500/);
    const everything = JSON.stringify([events, second.events, done, second.run, model.requests]);
    for (const token of [githubToken, slackToken, wrongToken])
      assert.ok(!everything.includes(token));
  });
});
