import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { z } from 'zod';
import { actionsFor, defineIntegration, type Integration } from './integration.ts';

const GitHub = Octokit.plugin(throttling);
type GitHubClient = InstanceType<typeof GitHub>;
const action = actionsFor<GitHubClient>();

/** Rate-limit waits longer than this are not waited for: the call fails saying when to retry. */
const maxRetryAfterSeconds = 60;
const silent = { debug() {}, info() {}, warn() {}, error() {} };

const name = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,100}$/, 'a GitHub owner or repository name')
  .refine((v) => v !== '.' && v !== '..', 'a GitHub owner or repository name');
const repoRef = {
  owner: name.describe('The account or organization that owns the repository, e.g. "octocat"'),
  repo: name.describe('The repository name, e.g. "hello-world"'),
};
const issueNumber = z.number().int().positive().describe('The issue or pull request number');
const branchName = z
  .string()
  .min(1)
  .max(200)
  .regex(
    /^(?!\/|.*\/\/|.*\.\.|.*\.lock$)[A-Za-z0-9._/-]+$/,
    'a valid branch name such as "fix/typo"',
  );
const page = {
  perPage: z.number().int().min(1).max(50).default(20).describe('Results per page (at most 50)'),
  page: z.number().int().min(1).default(1).describe('Which page, from 1'),
};

/** Whether a response's Link header names a next page. */
function hasNext(headers: { link?: string | undefined }): boolean {
  return /rel="next"/.test(headers.link ?? '');
}

function brief(issue: {
  number: number;
  title: string;
  state: string;
  html_url: string;
  user?: { login: string } | null;
  labels?: Array<string | { name?: string }>;
  pull_request?: unknown;
  updated_at?: string;
  repository_url?: string;
}) {
  return {
    number: issue.number,
    title: issue.title,
    state: issue.state,
    url: issue.html_url,
    author: issue.user?.login ?? null,
    labels: (issue.labels ?? []).map((l) => (typeof l === 'string' ? l : (l.name ?? ''))),
    isPullRequest: issue.pull_request !== undefined,
    ...(issue.repository_url
      ? { repository: issue.repository_url.split('/').slice(-2).join('/') }
      : {}),
    ...(issue.updated_at ? { updatedAt: issue.updated_at } : {}),
  };
}

export const github: Integration = defineIntegration<GitHubClient>({
  name: 'github',
  title: 'GitHub',
  description: 'Repositories, issues and pull requests on GitHub (or GitHub Enterprise Server).',
  secrets: [
    {
      name: 'GITHUB_TOKEN',
      description:
        'a GitHub token (fine-grained or classic) with access to the repositories the agent works on',
    },
  ],
  defaultBaseUrl: 'https://api.github.com',
  client: (secrets, { baseUrl, fetch }) =>
    new GitHub({
      auth: secrets.GITHUB_TOKEN,
      baseUrl: baseUrl.replace(/\/+$/, ''),
      userAgent: 'runtools-github-integration',
      request: { fetch, retries: 0 },
      log: silent,
      throttle: {
        // GitHub's rules: a primary limit waits for x-ratelimit-reset, a secondary one for
        // retry-after (the plugin reads both); twice at most, and never for long.
        onRateLimit: (retryAfter: number, _options: unknown, _octokit: unknown, count: number) =>
          count < 2 && retryAfter <= maxRetryAfterSeconds,
        onSecondaryRateLimit: (
          retryAfter: number,
          _options: unknown,
          _octokit: unknown,
          count: number,
        ) => count < 2 && retryAfter <= maxRetryAfterSeconds,
      },
    }),
  describeError(error) {
    const e = error as {
      status?: number;
      message?: string;
      response?: { headers?: Record<string, string | undefined> };
    };
    if (typeof e.status !== 'number') return undefined;
    const headers = e.response?.headers ?? {};
    const message = (e.message ?? '').replace(/ - https:\/\/docs\.github\.com\S*/, '');
    if (e.status === 401) {
      return `GitHub refused the token GITHUB_TOKEN (401 ${message}): it is wrong, expired or revoked; set a valid one with \`runtools secrets set GITHUB_TOKEN\`.`;
    }
    if (
      (e.status === 403 || e.status === 429) &&
      (headers['x-ratelimit-remaining'] === '0' || headers['retry-after'])
    ) {
      const reset = Number(headers['x-ratelimit-reset']);
      const when = headers['retry-after']
        ? `in ${headers['retry-after']} s`
        : Number.isFinite(reset)
          ? `after ${new Date(reset * 1000).toISOString()}`
          : 'later';
      return `GitHub's rate limit is exhausted (${e.status} ${message}); try again ${when}.`;
    }
    if (e.status === 404) {
      return `GitHub answered 404 ${message}: it does not exist, or the token cannot see it.`;
    }
    return `GitHub answered ${e.status}: ${message}`;
  },
  actions: [
    action({
      name: 'search_issues',
      description:
        'Searches issues and pull requests on GitHub with GitHub search syntax, e.g. "repo:octocat/hello-world is:open label:bug crash". Returns number, title, state, URL, author and labels of each match.',
      input: z.object({
        query: z
          .string()
          .min(1)
          .max(256)
          .describe('GitHub search query, e.g. "repo:o/r is:open crash"'),
        type: z
          .enum(['issue', 'pr', 'any'])
          .default('any')
          .describe('Only issues, only PRs, or both'),
        ...page,
      }),
      async run({ query, type, perPage, page }, { client }) {
        const q = type === 'any' ? query : `${query} is:${type}`;
        const r = await client.rest.search.issuesAndPullRequests({ q, per_page: perPage, page });
        return {
          totalCount: r.data.total_count,
          items: r.data.items.map(brief),
          nextPage: hasNext(r.headers) ? page + 1 : null,
        };
      },
    }),
    action({
      name: 'get_issue',
      description:
        'Reads one issue (or pull request) with its body, and its comments oldest first (up to 30).',
      input: z.object({ ...repoRef, number: issueNumber }),
      async run({ owner, repo, number }, { client }) {
        const issue = await client.rest.issues.get({ owner, repo, issue_number: number });
        const comments =
          issue.data.comments > 0
            ? (
                await client.rest.issues.listComments({
                  owner,
                  repo,
                  issue_number: number,
                  per_page: 30,
                })
              ).data
            : [];
        return {
          ...brief(issue.data),
          body: issue.data.body ?? '',
          createdAt: issue.data.created_at,
          comments: comments.map((c) => ({
            author: c.user?.login ?? null,
            body: c.body ?? '',
            createdAt: c.created_at,
          })),
        };
      },
    }),
    action({
      name: 'create_issue',
      description: 'Opens a new issue in a repository. Returns its number and URL.',
      input: z.object({
        ...repoRef,
        title: z.string().min(1).max(256),
        body: z.string().max(65_536).optional().describe('Markdown'),
        labels: z.array(z.string().min(1).max(50)).max(20).optional(),
        assignees: z.array(name).max(10).optional().describe('Logins to assign'),
      }),
      async run({ owner, repo, ...fields }, { client }) {
        const r = await client.rest.issues.create({ owner, repo, ...fields });
        return { number: r.data.number, url: r.data.html_url };
      },
    }),
    action({
      name: 'comment_on_issue',
      description: 'Adds a comment to an issue or pull request. Returns the comment URL.',
      input: z.object({
        ...repoRef,
        number: issueNumber,
        body: z.string().min(1).max(65_536).describe('Markdown'),
      }),
      async run({ owner, repo, number, body }, { client }) {
        const r = await client.rest.issues.createComment({
          owner,
          repo,
          issue_number: number,
          body,
        });
        return { id: r.data.id, url: r.data.html_url };
      },
    }),
    action({
      name: 'list_pull_requests',
      description:
        'Lists pull requests of a repository, most recently updated first: number, title, state, author, head and base branches.',
      input: z.object({
        ...repoRef,
        state: z.enum(['open', 'closed', 'all']).default('open'),
        ...page,
      }),
      async run({ owner, repo, state, perPage, page }, { client }) {
        const r = await client.rest.pulls.list({
          owner,
          repo,
          state,
          sort: 'updated',
          direction: 'desc',
          per_page: perPage,
          page,
        });
        return {
          pullRequests: r.data.map((p) => ({
            number: p.number,
            title: p.title,
            state: p.state,
            draft: p.draft ?? false,
            url: p.html_url,
            author: p.user?.login ?? null,
            head: p.head.ref,
            base: p.base.ref,
            updatedAt: p.updated_at,
          })),
          nextPage: hasNext(r.headers) ? page + 1 : null,
        };
      },
    }),
    action({
      name: 'get_pull_request',
      description:
        'Reads a pull request: title, body, state, branches, mergeability and the files it changes (up to 100, with additions and deletions).',
      input: z.object({ ...repoRef, number: issueNumber }),
      async run({ owner, repo, number }, { client }) {
        const pr = await client.rest.pulls.get({ owner, repo, pull_number: number });
        const files = await client.rest.pulls.listFiles({
          owner,
          repo,
          pull_number: number,
          per_page: 100,
        });
        return {
          number: pr.data.number,
          title: pr.data.title,
          body: pr.data.body ?? '',
          state: pr.data.state,
          merged: pr.data.merged,
          mergeable: pr.data.mergeable,
          draft: pr.data.draft ?? false,
          url: pr.data.html_url,
          author: pr.data.user?.login ?? null,
          head: pr.data.head.ref,
          base: pr.data.base.ref,
          files: files.data.map((f) => ({
            path: f.filename,
            status: f.status,
            additions: f.additions,
            deletions: f.deletions,
          })),
        };
      },
    }),
    action({
      name: 'read_file',
      description:
        "Reads a file of a repository (UTF-8 text, up to 1 MB) at a branch, tag or commit (default: the default branch); a directory's path lists its entries.",
      input: z.object({
        ...repoRef,
        path: z
          .string()
          .max(1024)
          .refine(
            (p) => !p.split('/').some((s) => s === '..' || s === '.'),
            'no "." or ".." segments',
          )
          .describe('Path in the repository, e.g. "src/index.ts" ("" for the root)'),
        ref: z.string().min(1).max(200).optional().describe('Branch, tag or commit SHA'),
      }),
      async run({ owner, repo, path, ref }, { client }) {
        const r = await client.rest.repos.getContent({
          owner,
          repo,
          path: path.replace(/^\/+|\/+$/g, ''),
          ...(ref ? { ref } : {}),
        });
        const data = r.data;
        if (Array.isArray(data)) {
          return {
            type: 'dir',
            entries: data.map((e) => ({ name: e.name, type: e.type, path: e.path })),
          };
        }
        if (data.type !== 'file' || !('content' in data))
          return { type: data.type, path: data.path };
        const bytes = Buffer.from(data.content, 'base64');
        if (bytes.includes(0))
          return { type: 'file', path: data.path, size: data.size, binary: true };
        return bytes.toString('utf8');
      },
    }),
    action({
      name: 'create_branch',
      description:
        'Creates a branch pointing at the head of another branch (default: the repository default branch).',
      input: z.object({
        ...repoRef,
        branch: branchName.describe('The new branch, e.g. "fix/typo"'),
        from: branchName
          .optional()
          .describe('The branch to start from (default: the default branch)'),
      }),
      async run({ owner, repo, branch, from }, { client }) {
        const base = from ?? (await client.rest.repos.get({ owner, repo })).data.default_branch;
        const ref = await client.rest.git.getRef({ owner, repo, ref: `heads/${base}` });
        await client.rest.git.createRef({
          owner,
          repo,
          ref: `refs/heads/${branch}`,
          sha: ref.data.object.sha,
        });
        return { branch, from: base, sha: ref.data.object.sha };
      },
    }),
    action({
      name: 'create_pull_request',
      description:
        'Opens a pull request from a branch (with commits already pushed) into another (default: the default branch). Returns its number and URL.',
      input: z.object({
        ...repoRef,
        title: z.string().min(1).max(256),
        head: branchName.describe('The branch with the changes'),
        base: branchName
          .optional()
          .describe('The branch to merge into (default: the default branch)'),
        body: z.string().max(65_536).optional().describe('Markdown'),
        draft: z.boolean().default(false),
      }),
      async run({ owner, repo, title, head, base, body, draft }, { client }) {
        const into = base ?? (await client.rest.repos.get({ owner, repo })).data.default_branch;
        const r = await client.rest.pulls.create({
          owner,
          repo,
          title,
          head,
          base: into,
          draft,
          ...(body ? { body } : {}),
        });
        return { number: r.data.number, url: r.data.html_url };
      },
    }),
  ],
});
