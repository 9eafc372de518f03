import { bodyFields, type FakeAnswer, FakeService, type ReceivedRequest } from './fake-service.ts';

interface FakeIssue {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  labels: string[];
  user: string;
  comments: Array<{ id: number; body: string; user: string; created_at: string }>;
  pull?: {
    head: string;
    base: string;
    files: Array<{ filename: string; additions: number; deletions: number }>;
  };
}

const docs = 'https://docs.github.com/rest';

/**
 * A loopback stand-in for the GitHub REST API (api.github.com), as documented: `Authorization:
 * token …` or `Bearer …` (401 "Bad credentials" otherwise), JSON bodies, `Link` pagination
 * (`page`, `per_page`), errors as `{ message, documentation_url }` (404, 422 with `errors`), and
 * rate limits (`rateLimited()`: 403 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset`, or
 * a secondary limit with `retry-after`). One repository, `owner/repo`, default branch `main`.
 */
export class FakeGitHub extends FakeService {
  readonly token: string;
  readonly issues = new Map<number, FakeIssue>();
  readonly refs = new Map<string, string>([['main', 'a'.repeat(40)]]);
  readonly files = new Map<string, string>([['README.md', '# Hello\n']]);
  #next = 1;

  constructor(token: string) {
    super();
    this.token = token;
    const repo = '/repos/:owner/:repo';
    this.on('GET', '/search/issues', (r) => this.#authed(r, () => this.#search(r)));
    this.on('GET', repo, (r, p) =>
      this.#authed(r, () =>
        this.#repo(p, () => ({
          json: { name: p.repo, full_name: `${p.owner}/${p.repo}`, default_branch: 'main' },
        })),
      ),
    );
    this.on('GET', `${repo}/issues/:number`, (r, p) =>
      this.#authed(r, () => this.#issue(p, (i) => ({ json: this.#issueJson(p, i) }))),
    );
    this.on('GET', `${repo}/issues/:number/comments`, (r, p) =>
      this.#authed(r, () =>
        this.#issue(p, (i) => ({
          json: i.comments.map((c) => ({
            ...c,
            user: { login: c.user },
            html_url: `${this.url}/c/${c.id}`,
          })),
        })),
      ),
    );
    this.on('POST', `${repo}/issues`, (r, p) =>
      this.#authed(r, () => {
        const b = bodyFields(r) as { title?: string; body?: string; labels?: string[] };
        if (!b.title) return unprocessable('Issue', 'title', 'missing_field');
        const issue = this.addIssue({ title: b.title, body: b.body ?? '', labels: b.labels ?? [] });
        return { status: 201, json: this.#issueJson(p, issue) };
      }),
    );
    this.on('POST', `${repo}/issues/:number/comments`, (r, p) =>
      this.#authed(r, () =>
        this.#issue(p, (i) => {
          const id = 1000 + this.#next++;
          const comment = {
            id,
            body: String(bodyFields(r).body ?? ''),
            user: 'runtools-bot',
            created_at: new Date().toISOString(),
          };
          i.comments.push(comment);
          return {
            status: 201,
            json: {
              ...comment,
              user: { login: comment.user },
              html_url: `https://github.com/${p.owner}/${p.repo}/issues/${i.number}#issuecomment-${id}`,
            },
          };
        }),
      ),
    );
    this.on('GET', `${repo}/pulls`, (r, p) =>
      this.#authed(r, () => {
        const state = r.query.get('state') ?? 'open';
        const pulls = [...this.issues.values()]
          .filter((i) => i.pull && (state === 'all' || i.state === state))
          .reverse();
        return paginate(
          this.url,
          r,
          pulls.map((i) => this.#pullJson(p, i)),
        );
      }),
    );
    this.on('GET', `${repo}/pulls/:number`, (r, p) =>
      this.#authed(r, () =>
        this.#issue(p, (i) => (i.pull ? { json: this.#pullJson(p, i) } : notFound())),
      ),
    );
    this.on('GET', `${repo}/pulls/:number/files`, (r, p) =>
      this.#authed(r, () =>
        this.#issue(p, (i) =>
          i.pull ? { json: i.pull.files.map((f) => ({ ...f, status: 'modified' })) } : notFound(),
        ),
      ),
    );
    this.on('POST', `${repo}/pulls`, (r, p) =>
      this.#authed(r, () => {
        const b = bodyFields(r) as { title: string; head: string; base: string; body?: string };
        if (!this.refs.has(b.head) || !this.refs.has(b.base)) {
          return unprocessable('PullRequest', 'head', 'invalid');
        }
        const issue = this.addIssue({
          title: b.title,
          body: b.body ?? '',
          labels: [],
          pull: { head: b.head, base: b.base, files: [] },
        });
        return { status: 201, json: this.#pullJson(p, issue) };
      }),
    );
    this.on('GET', `${repo}/contents/:path*`, (r, p) =>
      this.#authed(r, () => {
        const text = this.files.get(p.path ?? '');
        if (text === undefined) return notFound();
        const content = Buffer.from(text).toString('base64');
        return {
          json: {
            type: 'file',
            name: p.path,
            path: p.path,
            size: text.length,
            encoding: 'base64',
            content,
          },
        };
      }),
    );
    this.on('GET', `${repo}/git/ref/:ref*`, (r, p) =>
      this.#authed(r, () => {
        const branch = (p.ref ?? '').replace(/^heads\//, '');
        const sha = this.refs.get(branch);
        return sha
          ? { json: { ref: `refs/heads/${branch}`, object: { sha, type: 'commit' } } }
          : notFound();
      }),
    );
    this.on('POST', `${repo}/git/refs`, (r) =>
      this.#authed(r, () => {
        const b = bodyFields(r) as { ref: string; sha: string };
        const branch = b.ref.replace(/^refs\/heads\//, '');
        if (this.refs.has(branch)) {
          return {
            status: 422,
            json: { message: 'Reference already exists', documentation_url: docs, status: '422' },
          };
        }
        this.refs.set(branch, b.sha);
        return { status: 201, json: { ref: b.ref, object: { sha: b.sha, type: 'commit' } } };
      }),
    );
  }

  static async start(token: string): Promise<FakeGitHub> {
    return new FakeGitHub(token).start();
  }

  addIssue(fields: Partial<FakeIssue> & { title: string }): FakeIssue {
    const issue: FakeIssue = {
      number: this.#next++,
      body: '',
      state: 'open',
      labels: [],
      user: 'octocat',
      comments: [],
      ...fields,
    };
    this.issues.set(issue.number, issue);
    return issue;
  }

  /**
   * The next `times` requests hit a rate limit: the primary one (`x-ratelimit-remaining: 0`,
   * reset in a second) or a secondary one (`retry-after: 1`).
   */
  rateLimited(kind: 'primary' | 'secondary', times = 1): void {
    for (let i = 0; i < times; i++) {
      this.answerNext(
        (): FakeAnswer =>
          kind === 'primary'
            ? {
                status: 403,
                headers: {
                  'x-ratelimit-limit': '5000',
                  'x-ratelimit-remaining': '0',
                  'x-ratelimit-used': '5000',
                  'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000)),
                },
                json: {
                  message: 'API rate limit exceeded for user ID 1.',
                  documentation_url: docs,
                },
              }
            : {
                status: 403,
                headers: { 'retry-after': '1' },
                json: {
                  message:
                    'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
                  documentation_url: docs,
                },
              },
      );
    }
  }

  #authed(request: ReceivedRequest, answer: () => FakeAnswer): FakeAnswer {
    const auth = String(request.headers.authorization ?? '');
    if (auth !== `token ${this.token}` && auth !== `Bearer ${this.token}`) {
      return {
        status: 401,
        json: { message: 'Bad credentials', documentation_url: docs, status: '401' },
      };
    }
    return answer();
  }

  #repo(p: Record<string, string>, answer: () => FakeAnswer): FakeAnswer {
    return p.owner === 'owner' && p.repo === 'repo' ? answer() : notFound();
  }

  #issue(p: Record<string, string>, answer: (i: FakeIssue) => FakeAnswer): FakeAnswer {
    return this.#repo(p, () => {
      const issue = this.issues.get(Number(p.number));
      return issue ? answer(issue) : notFound();
    });
  }

  #search(r: ReceivedRequest): FakeAnswer {
    const q = r.query.get('q') ?? '';
    if (q === '') return unprocessable('Search', 'q', 'missing');
    const words = q.split(/\s+/).filter((w) => !w.includes(':'));
    const wantPr = /\bis:pr\b/.test(q);
    const wantIssue = /\bis:issue\b/.test(q);
    const items = [...this.issues.values()]
      .filter((i) => (wantPr ? i.pull : wantIssue ? !i.pull : true))
      .filter((i) =>
        words.every((w) => `${i.title} ${i.body}`.toLowerCase().includes(w.toLowerCase())),
      )
      .map((i) => this.#issueJson({ owner: 'owner', repo: 'repo' }, i));
    const page = paginate(this.url, r, items);
    return {
      ...page,
      json: { total_count: items.length, incomplete_results: false, items: page.json },
    };
  }

  #issueJson(p: Record<string, string>, i: FakeIssue) {
    return {
      number: i.number,
      title: i.title,
      body: i.body,
      state: i.state,
      html_url: `https://github.com/${p.owner}/${p.repo}/issues/${i.number}`,
      repository_url: `${this.url}/repos/${p.owner}/${p.repo}`,
      user: { login: i.user },
      labels: i.labels.map((name) => ({ name })),
      comments: i.comments.length,
      created_at: '2026-01-01T00:00:00Z',
      updated_at: '2026-01-02T00:00:00Z',
      ...(i.pull
        ? { pull_request: { url: `${this.url}/repos/${p.owner}/${p.repo}/pulls/${i.number}` } }
        : {}),
    };
  }

  #pullJson(p: Record<string, string>, i: FakeIssue) {
    return {
      number: i.number,
      title: i.title,
      body: i.body,
      state: i.state,
      draft: false,
      merged: false,
      mergeable: true,
      html_url: `https://github.com/${p.owner}/${p.repo}/pull/${i.number}`,
      user: { login: i.user },
      head: { ref: i.pull?.head },
      base: { ref: i.pull?.base },
      updated_at: '2026-01-02T00:00:00Z',
    };
  }
}

function notFound(): FakeAnswer {
  return { status: 404, json: { message: 'Not Found', documentation_url: docs, status: '404' } };
}

function unprocessable(resource: string, field: string, code: string): FakeAnswer {
  return {
    status: 422,
    json: {
      message: 'Validation Failed',
      errors: [{ resource, field, code }],
      documentation_url: docs,
      status: '422',
    },
  };
}

/** GitHub's page-number pagination: `per_page` (default 30), `page`, and a `Link` header. */
function paginate<T>(base: string, r: ReceivedRequest, items: T[]): FakeAnswer & { json: T[] } {
  const perPage = Number(r.query.get('per_page') ?? 30);
  const page = Number(r.query.get('page') ?? 1);
  const json = items.slice((page - 1) * perPage, page * perPage);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (n: number, rel: string) => {
    const q = new URLSearchParams(r.query);
    q.set('page', String(n));
    return `<${base}${r.path}?${q}>; rel="${rel}"`;
  };
  const links = [
    ...(page < last ? [link(page + 1, 'next'), link(last, 'last')] : []),
    ...(page > 1 ? [link(1, 'first'), link(page - 1, 'prev')] : []),
  ];
  return { json, ...(links.length ? { headers: { link: links.join(', ') } } : {}) };
}
