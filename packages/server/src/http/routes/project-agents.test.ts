import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadProject } from '@runtools/agent';
import { RunTools } from '@runtools/sdk';
import type { ProjectAgent, ProjectAgentEvent, ProjectAgentList } from '@runtools/sdk/api';
import { openDatabase } from '../../db/database.ts';
import { corpus } from '../../project/agent-file-corpus.ts';
import { ProjectAgentFiles } from '../../project/project-agent-files.ts';
import { ProjectAgentWatch } from '../../project/project-agent-watch.ts';
import { startTestServer, type TestServer, testBootstrapKey } from '../../testing/test-server.ts';

const secretKey = Buffer.alloc(32, 7).toString('base64');

async function writeProject(root: string): Promise<void> {
  for (const entry of corpus) {
    for (const [file, text] of Object.entries({ ...entry.extra, [entry.file]: entry.text })) {
      await mkdir(dirname(join(root, file)), { recursive: true });
      await writeFile(join(root, file), text);
    }
  }
  await writeFile(join(root, 'agents/broken.ts'), 'export default defineAgent({ slug: "broken",\n');
}

/** Reads Server-Sent Events of the agent builder from an open response. */
class EventReader {
  readonly events: ProjectAgentEvent[] = [];
  #waiters: Array<() => void> = [];
  readonly #abort = new AbortController();
  constructor(url: string) {
    void (async () => {
      const response = await fetch(url, {
        headers: { authorization: `Bearer ${testBootstrapKey}` },
        signal: this.#abort.signal,
      });
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trim())
            .join('\n');
          if (data) {
            this.events.push(JSON.parse(data));
            for (const w of this.#waiters.splice(0)) w();
          }
          end = buffer.indexOf('\n\n');
        }
      }
    })().catch(() => {});
  }
  async next(count: number, timeoutMs: number): Promise<ProjectAgentEvent> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no event ${count} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.events[count - 1] as ProjectAgentEvent;
  }
  close(): void {
    this.#abort.abort();
  }
}

describe('/v1/project/agents', () => {
  let root: string;
  let outside: string;
  let server: TestServer;
  let watch: ProjectAgentWatch;
  let database: Awaited<ReturnType<typeof openDatabase>>;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rt-builder-'));
    outside = await mkdtemp(join(tmpdir(), 'rt-outside-'));
    await writeProject(root);
    await writeFile(join(outside, 'secret.ts'), "export const secret = 'outside the project';\n");
    await symlink(join(outside, 'secret.ts'), join(root, 'agents/linked.ts'));
    database = await openDatabase({ kind: 'sqlite', dataDir: join(root, '.runtools'), secretKey });
    const files = new ProjectAgentFiles(root);
    watch = new ProjectAgentWatch(files);
    server = await startTestServer(database, { project: { files, watch } });
  });

  after(async () => {
    watch[Symbol.dispose]();
    await server[Symbol.asyncDispose]();
    await database[Symbol.asyncDispose]();
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  const list = async () =>
    (await server.request('GET', '/v1/project/agents')).body as ProjectAgentList;
  const agent = async (slug: string) => {
    const found = (await list()).agents.find((a) => a.slug === slug);
    assert.ok(found, slug);
    return found;
  };
  const file = (rel: string) => readFile(join(root, rel), 'utf8');

  it('lists every agent file with its fields, parse errors and links read-only', async () => {
    const body = await list();
    assert.equal(body.editable, true);
    assert.equal(body.agents.length, corpus.length + 2);
    const orders = body.agents.find((a) => a.slug === 'orders');
    assert.equal(orders?.file, 'agents/orders/index.ts');
    assert.deepEqual(orders?.imports.sort(), ['agents/orders/prompt.ts', 'agents/orders/tools.ts']);
    const prompt = orders?.fields.find((f) => f.name === 'systemPrompt');
    assert.equal(prompt?.editable, false);
    assert.equal(prompt?.reason, 'imported from ./prompt.ts');
    assert.equal(prompt?.source, 'systemPrompt: prompt');
    const broken = body.agents.find((a) => a.file === 'agents/broken.ts');
    assert.equal(broken?.editable, false);
    assert.equal(broken?.parseError?.line, 2);
    const linked = body.agents.find((a) => a.file === 'agents/linked.ts');
    assert.equal(linked?.editable, false);
    assert.equal(linked?.source, null, 'a link to outside the project is not read');
    assert.ok(body.tools.core.includes('bash'));
  });

  it('sets one field: the diff has only its lines, and the file loads with the new value', async () => {
    const before = await agent('reviewer');
    const preview = await server.request('POST', '/v1/project/agents/reviewer/preview', {
      body: {
        baseHash: before.hash,
        set: { tools: ['bash', 'read_file', 'grep', 'glob', 'web_search'] },
      },
    });
    assert.equal(preview.status, 200);
    const diff = (preview.body as { diff: string }).diff;
    const changed = diff.split('\n').filter((l) => /^[-+][^-+]/.test(l));
    assert.deepEqual(changed, [
      '-    tools: ["bash", "read_file", "grep", "glob"],',
      '+    tools: ["bash", "read_file", "grep", "glob", "web_search"],',
    ]);
    assert.equal(await file('agents/reviewer.ts'), before.source, 'a preview writes nothing');
    const patched = await server.request('PATCH', '/v1/project/agents/reviewer', {
      body: {
        baseHash: before.hash,
        set: { tools: ['bash', 'read_file', 'grep', 'glob', 'web_search'] },
      },
    });
    assert.equal(patched.status, 200);
    assert.equal(await file('agents/reviewer.ts'), (preview.body as { source: string }).source);
    const loaded = await loadProject(root);
    const reviewer = loaded.agents.find((a) => a.agent.slug === 'reviewer');
    assert.deepEqual(reviewer?.agent.tools, ['bash', 'read_file', 'grep', 'glob', 'web_search']);
  });

  it('a save without a change leaves the file byte-identical and unwritten', async () => {
    const before = await agent('tabbed');
    const mtime = (await stat(join(root, 'agents/tabbed.ts'))).mtimeMs;
    const set = Object.fromEntries(
      before.fields.filter((f) => f.editable).map((f) => [f.name, f.value]),
    );
    const r = await server.request('PATCH', '/v1/project/agents/tabbed', {
      body: { baseHash: before.hash, set },
    });
    assert.equal(r.status, 200);
    assert.equal(await file('agents/tabbed.ts'), before.source);
    assert.equal((await stat(join(root, 'agents/tabbed.ts'))).mtimeMs, mtime);
  });

  it('writes hostile strings as escaped literals that load as the same text', async () => {
    const before = await agent('escapes');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: text a user types, not a template
    const hostile = "x'); process.exit(1); ('`${process.exit(2)}`\\\n\"; //";
    const r = await server.request('PATCH', '/v1/project/agents/escapes', {
      body: { baseHash: before.hash, set: { description: hostile, systemPrompt: hostile } },
    });
    assert.equal(r.status, 200);
    const loaded = await loadProject(root);
    const escapes = loaded.agents.find((a) => a.agent.slug === 'escapes');
    assert.equal(escapes?.agent.description, hostile);
    assert.equal(escapes?.agent.systemPrompt, hostile);
  });

  it('refuses an invalid value with the field and leaves the file untouched', async () => {
    const before = await agent('numbers');
    for (const set of [
      { maxSteps: 0 },
      { tools: 'bash' },
      { slug: 'Not A Slug' },
      { systemPrompt: null },
      { env: { 'A B': 'x' } },
    ]) {
      const r = await server.request('PATCH', '/v1/project/agents/numbers', {
        body: { baseHash: before.hash, set },
      });
      assert.equal(r.status, 400, JSON.stringify(set));
      const error = (
        r.body as { error: { code: string; details: { issues: Array<{ field: string }> } } }
      ).error;
      assert.equal(error.code, 'invalid_agent');
      assert.equal(error.details.issues[0]?.field.split('.')[0], Object.keys(set)[0]);
    }
    assert.equal(await file('agents/numbers.ts'), before.source);
  });

  it('refuses read-only fields and files', async () => {
    const imported = await agent('imported-prompt');
    const r = await server.request('PATCH', '/v1/project/agents/imported-prompt', {
      body: { baseHash: imported.hash, set: { systemPrompt: 'x' } },
    });
    assert.equal(r.status, 400);
    assert.equal((r.body as { error: { code: string } }).error.code, 'agent_field_read_only');
    const mcp = await server.request('PATCH', '/v1/project/agents/imported-prompt', {
      body: { baseHash: imported.hash, set: { mcpServers: {} } },
    });
    assert.equal((mcp.body as { error: { code: string } }).error.code, 'agent_field_read_only');
    const broken = await agent('broken');
    const b = await server.request('PATCH', '/v1/project/agents/broken', {
      body: { baseHash: broken.hash, set: { model: 'auto' } },
    });
    assert.equal(b.status, 409);
    assert.equal((b.body as { error: { code: string } }).error.code, 'agent_file_read_only');
    const linked = await server.request('PATCH', '/v1/project/agents/linked', {
      body: { baseHash: 'a'.repeat(64), set: { model: 'auto' } },
    });
    assert.equal(linked.status, 409);
    assert.equal(
      await readFile(join(outside, 'secret.ts'), 'utf8'),
      "export const secret = 'outside the project';\n",
    );
  });

  it('merges an outside edit of another field, and refuses one of the same field with both versions', async () => {
    const base = await agent('support');
    const text = base.source as string;
    await writeFile(join(root, 'agents/support.ts'), text.replace('maxSteps: 10', 'maxSteps: 11'));
    const merged = await server.request('PATCH', '/v1/project/agents/support', {
      body: { baseHash: base.hash, set: { temperature: 0.9 } },
    });
    assert.equal(merged.status, 200);
    const now = await file('agents/support.ts');
    assert.ok(now.includes('maxSteps: 11, // enough'));
    assert.ok(now.includes('temperature: 0.9,'));
    const conflict = await server.request('PATCH', '/v1/project/agents/support', {
      body: { baseHash: base.hash, set: { maxSteps: 12 } },
    });
    assert.equal(conflict.status, 409);
    const error = (conflict.body as { error: { code: string; details: Record<string, unknown> } })
      .error;
    assert.equal(error.code, 'agent_file_conflict');
    assert.deepEqual(error.details.fields, ['maxSteps']);
    assert.equal((error.details.current as { source: string }).source, now);
    assert.ok(
      (error.details.proposed as { source: string }).source.includes('maxSteps: 12, // enough'),
    );
    assert.equal(await file('agents/support.ts'), now, 'a conflict writes nothing');
  });

  it('creates a new agent file in the scaffold style, once', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: text a user types, not a template
    const prompt = 'Line one\nUses `backticks` and ${braces}';
    const r = await server.request('POST', '/v1/project/agents', {
      body: {
        slug: 'fresh',
        name: "Fresh's agent",
        systemPrompt: prompt,
        tools: ['bash'],
        template: 'nodejs-20',
      },
    });
    assert.equal(r.status, 201);
    assert.equal(
      await file('agents/fresh.ts'),
      `import { defineAgent } from '@runtools/sdk';

/** Served at POST /v1/run/fresh (and WS /v1/run/fresh/stream). */
export default defineAgent({
  slug: 'fresh',
  name: 'Fresh\\'s agent',
  model: 'auto',
  template: 'nodejs-20',
  tools: ['bash'],
  systemPrompt: \`Line one
Uses \\\`backticks\\\` and \\\${braces}\`,
});
`,
    );
    const loaded = await loadProject(root);
    assert.equal(loaded.agents.find((a) => a.agent.slug === 'fresh')?.agent.systemPrompt, prompt);
    const again = await server.request('POST', '/v1/project/agents', { body: { slug: 'fresh' } });
    assert.equal(again.status, 409);
    assert.equal((again.body as { error: { code: string } }).error.code, 'agent_file_exists');
    const taken = await server.request('POST', '/v1/project/agents', { body: { slug: 'orders' } });
    assert.equal(taken.status, 409);
  });

  it('never writes outside agents/: ../, absolute paths, encoded slashes', async () => {
    for (const slug of ['../escape', '/etc/passwd', 'a/b', '..', '.', 'x\u0000y']) {
      const r = await server.request('POST', '/v1/project/agents', { body: { slug } });
      assert.equal(r.status, 400, slug);
    }
    for (const path of ['..%2F..%2Fetc%2Fpasswd', '%2E%2E', '..', 'a%2Fb', '%2Fetc%2Fpasswd']) {
      const r = await server.request('PATCH', `/v1/project/agents/${path}`, {
        body: { baseHash: 'a'.repeat(64), set: { model: 'auto' } },
      });
      assert.ok(r.status === 400 || r.status === 404, `${path}: ${r.status}`);
      const d = await server.request('DELETE', `/v1/project/agents/${path}?confirm=x`);
      assert.ok(d.status === 400 || d.status === 404, `${path}: ${d.status}`);
    }
    await assert.rejects(stat(join(root, 'escape.ts')));
  });

  it('deletes a file only with the confirmation of its preview', async () => {
    const preview = await server.request('POST', '/v1/project/agents/fresh/preview', {
      body: { delete: true },
    });
    assert.equal(preview.status, 200);
    const { confirm, diff } = preview.body as { confirm: string; diff: string };
    assert.ok(diff.includes("-  slug: 'fresh',"));
    const wrong = await server.request('DELETE', '/v1/project/agents/fresh?confirm=nope');
    assert.equal(wrong.status, 409);
    await stat(join(root, 'agents/fresh.ts'));
    const ok = await server.request(
      'DELETE',
      `/v1/project/agents/fresh?confirm=${encodeURIComponent(confirm)}`,
    );
    assert.equal(ok.status, 204);
    await assert.rejects(stat(join(root, 'agents/fresh.ts')));
  });

  it('streams a snapshot within 1 s of an outside edit, of an imported file too, and does not echo its own writes', async () => {
    const events = new EventReader(`${server.url}/v1/project/agents/one-line/events`);
    try {
      const initial = await events.next(1, 5000);
      assert.equal(initial.origin, 'initial');
      const text = initial.agent?.source as string;
      const started = Date.now();
      await writeFile(
        join(root, 'agents/one-line.ts'),
        text.replace("model: 'auto'", "model: 'gpt-5'"),
      );
      const outsideEdit = await events.next(2, 1000);
      assert.ok(Date.now() - started < 1000);
      assert.equal(outsideEdit.origin, 'disk');
      assert.equal(outsideEdit.agent?.fields.find((f) => f.name === 'model')?.value, 'gpt-5');
      const r = await server.request('PATCH', '/v1/project/agents/one-line', {
        body: { baseHash: (outsideEdit.agent as ProjectAgent).hash, set: { maxSteps: 3 } },
      });
      assert.equal(r.status, 200);
      const own = await events.next(3, 1000);
      assert.equal(own.origin, 'builder');
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal(events.events.length, 3, 'the write is not echoed as an outside change');
    } finally {
      events.close();
    }
    const imported = new EventReader(`${server.url}/v1/project/agents/imported-prompt/events`);
    try {
      await imported.next(1, 5000);
      await writeFile(join(root, 'lib/prompts.ts'), "export const SUPPORT_PROMPT = 'Changed.';\n");
      const change = await imported.next(2, 1000);
      assert.equal(change.origin, 'disk');
    } finally {
      imported.close();
    }
  });

  it('the sdk client lists, updates and streams agent files', async () => {
    const rt = new RunTools({ apiKey: testBootstrapKey, baseUrl: server.url });
    const { agents } = await rt.projectAgents.list();
    const wrapped = agents.find((a) => a.slug === 'wrapped');
    assert.ok(wrapped);
    const abort = new AbortController();
    const stream = rt.projectAgents.events('wrapped', { signal: abort.signal });
    assert.equal((await stream.next()).value?.origin, 'initial');
    const updated = await rt.projectAgents.update('wrapped', {
      baseHash: wrapped.hash,
      set: { model: 'gpt-5' },
    });
    assert.equal(updated.fields.find((f) => f.name === 'model')?.value, 'gpt-5');
    assert.equal((await stream.next()).value?.origin, 'builder');
    abort.abort();
    await assert.rejects(
      rt.projectAgents.update('wrapped', { baseHash: wrapped.hash, set: { model: 'auto' } }),
      {
        code: 'agent_file_conflict',
      },
    );
  });
});

describe('/v1/project/agents on a server without a project folder', () => {
  it('lists deployed agents read-only and refuses writes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rt-deployed-'));
    try {
      await using database = await openDatabase({ kind: 'sqlite', dataDir: dir, secretKey });
      await using server = await startTestServer(database);
      const runtime = await server.request('POST', '/v1/runtimes', {
        body: {
          slug: 'helper',
          model: { provider: 'custom', endpoint: 'http://127.0.0.1:8000/v1', apiKey: 'sk-secret' },
          systemPrompt: 'Be brief.',
        },
      });
      await server.request('POST', '/v1/deployments', {
        body: {
          apiSlug: 'helper',
          runtimeId: (runtime.body as { id: string }).id,
          template: 'debian-13',
        },
      });
      const body = (await server.request('GET', '/v1/project/agents')).body as ProjectAgentList;
      assert.equal(body.editable, false);
      const helper = body.agents.find((a) => a.slug === 'helper');
      assert.equal(helper?.editable, false);
      assert.equal(helper?.fields.find((f) => f.name === 'systemPrompt')?.value, 'Be brief.');
      assert.ok(!helper?.source?.includes('sk-secret'), 'model keys are masked');
      const r = await server.request('PATCH', '/v1/project/agents/helper', {
        body: { baseHash: helper?.hash, set: { systemPrompt: 'x' } },
      });
      assert.equal(r.status, 409);
      assert.equal((r.body as { error: { code: string } }).error.code, 'agent_file_read_only');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('ProjectAgentFiles with agents/ linked to outside the project', () => {
  it('reads nothing through the link and creates nothing there', async () => {
    const root = await mkdtemp(join(tmpdir(), 'rt-linked-root-'));
    const elsewhere = await mkdtemp(join(tmpdir(), 'rt-linked-target-'));
    try {
      await writeFile(
        join(elsewhere, 'victim.ts'),
        "export default defineAgent({ slug: 'victim', model: 'auto', systemPrompt: 'x' });\n",
      );
      await symlink(elsewhere, join(root, 'agents'));
      const files = new ProjectAgentFiles(root);
      assert.deepEqual(await files.list(), []);
      await assert.rejects(files.create({ slug: 'planted' }), { code: 'agent_file_read_only' });
      await assert.rejects(stat(join(elsewhere, 'planted.ts')));
    } finally {
      await rm(root, { recursive: true, force: true });
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});
