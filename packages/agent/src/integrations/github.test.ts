import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Octokit } from '@octokit/rest';
import { AddressPolicy } from '../net/address-policy.ts';
import { loopbackRanges } from '../net/forbidden-ranges.ts';
import { createPinnedFetch } from '../net/pinned-fetch.ts';
import { FakeGitHub } from '../testing/fake-github.ts';
import type { ToolContext } from '../tools/tool.ts';
import { createIntegrationTools } from './integration-tools.ts';

const token = 'ghp_test0123456789abcdefghijklmnopqrstuvwxyz';
const loopbackFetch = createPinnedFetch({ policy: new AddressPolicy({ allow: loopbackRanges }) });
const ctx = (): ToolContext => ({
  sandbox: undefined as never,
  signal: new AbortController().signal,
  state: {},
});

async function call(
  fake: FakeGitHub,
  name: string,
  input: unknown,
  secrets: Record<string, string> = { GITHUB_TOKEN: token },
) {
  const tools = createIntegrationTools([{ name: 'github' }], {
    credentials: async (secret) => secrets[secret],
    baseUrls: { github: fake.url },
    fetch: loopbackFetch,
  });
  const tool = tools[name];
  assert.ok(tool, `no tool ${name}`);
  const parsed = tool.inputSchema.safeParse(input);
  assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
  return tool.execute(parsed.data, ctx());
}

describe('the fake GitHub, checked with Octokit', () => {
  it('serves issues and pull requests with Link pagination, and refuses a bad token with 401', async () => {
    await using fake = await FakeGitHub.start(token);
    for (let i = 0; i < 5; i++) {
      fake.addIssue({ title: `PR ${i}`, pull: { head: `b${i}`, base: 'main', files: [] } });
    }
    const octokit = new Octokit({ auth: token, baseUrl: fake.url });
    const all = await octokit.paginate(octokit.rest.pulls.list, {
      owner: 'owner',
      repo: 'repo',
      per_page: 2,
    });
    assert.equal(all.length, 5);
    assert.equal(fake.requests.filter((r) => r.path === '/repos/owner/repo/pulls').length, 3);
    const bad = new Octokit({ auth: 'ghp_wrong', baseUrl: fake.url });
    await assert.rejects(bad.rest.repos.get({ owner: 'owner', repo: 'repo' }), (e: unknown) => {
      assert.equal((e as { status: number }).status, 401);
      assert.match((e as Error).message, /Bad credentials/);
      return true;
    });
    const created = await octokit.rest.issues.create({ owner: 'owner', repo: 'repo', title: 'x' });
    assert.equal(created.status, 201);
  });
});

describe('github integration', () => {
  it('searches, reads and creates issues, comments, reads a file, makes a branch and a pull request', async () => {
    await using fake = await FakeGitHub.start(token);
    fake.addIssue({ title: 'Crash on start', body: 'It crashes when started.', labels: ['bug'] });
    fake.addIssue({ title: 'Docs typo' });

    const search = await call(fake, 'github_search_issues', {
      query: 'repo:owner/repo crash',
      type: 'issue',
    });
    assert.equal(search.isError, undefined, search.output);
    const found = JSON.parse(search.output);
    assert.equal(found.totalCount, 1);
    assert.equal(found.items[0].title, 'Crash on start');
    assert.deepEqual(found.items[0].labels, ['bug']);
    assert.equal(fake.requests.at(-1)?.query.get('q'), 'repo:owner/repo crash is:issue');
    assert.equal(fake.requests.at(-1)?.headers.authorization, `token ${token}`);

    const created = await call(fake, 'github_create_issue', {
      owner: 'owner',
      repo: 'repo',
      title: 'New one',
      body: 'Details',
      labels: ['triage'],
    });
    const { number } = JSON.parse(created.output);
    assert.equal(fake.issues.get(number)?.title, 'New one');
    assert.deepEqual(fake.issues.get(number)?.labels, ['triage']);

    await call(fake, 'github_comment_on_issue', {
      owner: 'owner',
      repo: 'repo',
      number,
      body: 'On it',
    });
    const issue = JSON.parse(
      (await call(fake, 'github_get_issue', { owner: 'owner', repo: 'repo', number })).output,
    );
    assert.equal(issue.body, 'Details');
    assert.deepEqual(
      issue.comments.map((c: { body: string }) => c.body),
      ['On it'],
    );

    const file = await call(fake, 'github_read_file', {
      owner: 'owner',
      repo: 'repo',
      path: 'README.md',
    });
    assert.equal(file.output, '# Hello\n');

    const branch = JSON.parse(
      (
        await call(fake, 'github_create_branch', {
          owner: 'owner',
          repo: 'repo',
          branch: 'fix/typo',
        })
      ).output,
    );
    assert.deepEqual(branch, { branch: 'fix/typo', from: 'main', sha: 'a'.repeat(40) });
    const pr = await call(fake, 'github_create_pull_request', {
      owner: 'owner',
      repo: 'repo',
      title: 'Fix the typo',
      head: 'fix/typo',
    });
    const prNumber = JSON.parse(pr.output).number;
    const list = JSON.parse(
      (await call(fake, 'github_list_pull_requests', { owner: 'owner', repo: 'repo', perPage: 1 }))
        .output,
    );
    assert.equal(list.pullRequests[0].number, prNumber);
    const got = JSON.parse(
      (
        await call(fake, 'github_get_pull_request', {
          owner: 'owner',
          repo: 'repo',
          number: prNumber,
        })
      ).output,
    );
    assert.equal(got.head, 'fix/typo');
    assert.equal(got.base, 'main');
  });

  it("gives a service error as GitHub's status and message", async () => {
    await using fake = await FakeGitHub.start(token);
    const missing = await call(fake, 'github_get_issue', {
      owner: 'owner',
      repo: 'repo',
      number: 99,
    });
    assert.equal(missing.isError, true);
    assert.match(missing.output, /404 Not Found.*cannot see it/);
    await call(fake, 'github_create_branch', { owner: 'owner', repo: 'repo', branch: 'x' });
    const again = await call(fake, 'github_create_branch', {
      owner: 'owner',
      repo: 'repo',
      branch: 'x',
    });
    assert.match(again.output, /GitHub answered 422: Reference already exists/);
  });

  it('waits out a secondary and a primary rate limit as GitHub says, then succeeds', async () => {
    await using fake = await FakeGitHub.start(token);
    fake.addIssue({ title: 'Limited' });
    fake.rateLimited('secondary');
    const started = Date.now();
    const r = await call(fake, 'github_get_issue', { owner: 'owner', repo: 'repo', number: 1 });
    assert.equal(r.isError, undefined, r.output);
    assert.ok(Date.now() - started >= 900, 'retry-after: 1 was waited for');
    fake.rateLimited('primary');
    const again = await call(fake, 'github_get_issue', { owner: 'owner', repo: 'repo', number: 1 });
    assert.equal(again.isError, undefined, again.output);
    assert.equal(fake.requests.filter((q) => q.path === '/repos/owner/repo/issues/1').length, 4);
  });

  it('says a refused token is GITHUB_TOKEN, and a missing one how to set it, never showing it', async () => {
    await using fake = await FakeGitHub.start(token);
    const wrong = 'ghp_wrongwrongwrongwrongwrong';
    const bad = await call(
      fake,
      'github_get_issue',
      { owner: 'owner', repo: 'repo', number: 1 },
      {
        GITHUB_TOKEN: wrong,
      },
    );
    assert.equal(bad.isError, true);
    assert.match(bad.output, /refused the token GITHUB_TOKEN \(401 Bad credentials\)/);
    assert.ok(!bad.output.includes(wrong));
    const none = await call(
      fake,
      'github_get_issue',
      { owner: 'owner', repo: 'repo', number: 1 },
      {},
    );
    assert.equal(none.isError, true);
    assert.match(none.output, /needs the secret GITHUB_TOKEN.*runtools secrets set GITHUB_TOKEN/);
    assert.equal(fake.requests.length, 1, 'no request without a token');
  });

  it('masks a token a service echoes in an error body', async () => {
    await using fake = await FakeGitHub.start(token);
    fake.answerNext((r) => ({
      status: 500,
      json: { message: `upstream failed for Authorization: ${r.headers.authorization}` },
    }));
    const r = await call(fake, 'github_get_issue', { owner: 'owner', repo: 'repo', number: 1 });
    assert.equal(r.isError, true);
    assert.ok(!r.output.includes(token), r.output);
    assert.match(r.output, /\[GITHUB_TOKEN\]/);
  });

  it('refuses inputs that would leave the repository, and a loopback API the operator did not allow', async () => {
    await using fake = await FakeGitHub.start(token);
    const tools = createIntegrationTools([{ name: 'github', actions: ['read_file'] }], {
      credentials: async () => token,
      baseUrls: { github: fake.url },
    });
    assert.deepEqual(Object.keys(tools), ['github_read_file']);
    const tool = tools.github_read_file;
    assert.ok(tool);
    for (const input of [
      { owner: 'owner', repo: 'repo', path: '../../user' },
      { owner: 'a/b', repo: 'repo', path: 'x' },
      { owner: '..', repo: 'repo', path: 'x' },
    ]) {
      assert.equal(tool.inputSchema.safeParse(input).success, false, JSON.stringify(input));
    }
    // The default fetch connects to public addresses only: the token never reaches loopback.
    const r = await tool.execute({ owner: 'owner', repo: 'repo', path: 'README.md' }, ctx());
    assert.equal(r.isError, true);
    assert.match(r.output, /127\.0\.0\.1|loopback/);
    assert.equal(fake.requests.length, 0);
  });
});
