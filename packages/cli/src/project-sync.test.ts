import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { ProjectAgent } from '@runtools/agent';
import {
  type AgentDefinitionInput,
  defineAgent,
  projectConfigSchema,
  RunTools,
} from '@runtools/sdk';
import {
  createApp,
  createStore,
  type Database,
  openDatabase,
  type Server,
  serve,
  silentLogger,
} from '@runtools/server';
import { type SyncResult, syncProject } from './project-sync.ts';

const KEY = 'project-sync-test-key';

function agent(input: Partial<AgentDefinitionInput> & { slug: string }): ProjectAgent {
  const a = defineAgent({ model: 'auto', systemPrompt: 'You help.', tools: ['bash'], ...input });
  return { agent: { ...a, template: a.template ?? 'debian-13' }, file: `agents/${input.slug}.ts` };
}

const summary = (r: SyncResult) => r.changes.map((c) => `${c.kind} ${c.slug} ${c.action}`);

describe('syncProject (the SDK client against a real API server)', () => {
  const dataDir = mkdtempSync('/var/tmp/rt-project-sync-');
  let database: Database;
  let server: Server;
  let client: RunTools;

  before(async () => {
    database = await openDatabase({ kind: 'sqlite', dataDir });
    const app = createApp({
      store: createStore(database),
      bootstrapKey: KEY,
      rateLimit: false,
      logger: silentLogger,
    });
    server = await serve({ app, port: 0 });
    client = new RunTools({ apiKey: KEY, baseUrl: server.url });
  });
  after(async () => {
    await server?.close();
    await database?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates runtimes and deployments, then changes nothing when run again', async () => {
    const project = {
      agents: [agent({ slug: 'alpha' }), agent({ slug: 'beta', template: 'nodejs-20' })],
      problems: [],
    };
    const seen: string[] = [];
    const first = await syncProject(client, project, {
      onChange: (c) => seen.push(`${c.kind} ${c.slug} ${c.action}`),
    });
    assert.deepEqual(summary(first), [
      'runtime alpha created',
      'deployment alpha created',
      'runtime beta created',
      'deployment beta created',
    ]);
    assert.deepEqual(seen, summary(first));
    assert.deepEqual(
      first.endpoints.map((e) => [e.slug, e.template, e.runtimeVersion]),
      [
        ['alpha', 'debian-13', 1],
        ['beta', 'nodejs-20', 1],
      ],
    );
    const second = await syncProject(client, project);
    assert.deepEqual(second.changes, []);
    assert.deepEqual(second.endpoints, first.endpoints);
    const deployment = (await client.deployments.list()).data.find((d) => d.apiSlug === 'beta');
    assert.equal(deployment?.template, 'nodejs-20');
  });

  it('adds a version only for a changed definition, and moves the deployment onto it', async () => {
    const project = {
      agents: [
        agent({ slug: 'alpha', systemPrompt: 'You help a lot.' }),
        agent({ slug: 'beta', template: 'nodejs-20' }),
      ],
      problems: [],
    };
    const r = await syncProject(client, project);
    assert.deepEqual(summary(r), ['runtime alpha created', 'deployment alpha updated']);
    assert.equal(r.changes[0]?.detail, 'version 2');
    const alpha = (await client.deployments.list()).data.find((d) => d.apiSlug === 'alpha');
    assert.equal(alpha?.runtimeId, r.endpoints[0]?.runtimeId);
    // A deployment moved by hand is moved back; no new runtime for it.
    const v1 = (await client.runtimes.list({ slug: 'alpha' })).data.find((x) => x.version === 1);
    await client.deployments.update(alpha?.id ?? '', { runtimeId: v1?.id ?? '' });
    assert.deepEqual(summary(await syncProject(client, project)), ['deployment alpha updated']);
  });

  it("makes a model name of the project's OpenAI-compatible server explicit in the runtime", async () => {
    const config = projectConfigSchema.parse({
      openaiCompatible: { baseURL: 'http://127.0.0.1:9/v1', apiKey: 'env:LLAMA_KEY' },
    });
    const project = {
      agents: [
        agent({ slug: 'llama', model: 'llama-3.1-8b' }),
        agent({ slug: 'claude', model: 'claude-sonnet-4-5' }),
      ],
      problems: [],
      config,
    };
    const r = await syncProject(client, project);
    const models = await Promise.all(
      r.endpoints.map(async (e) => (await client.runtimes.get(e.runtimeId)).definition.model),
    );
    assert.deepEqual(models, [
      {
        provider: 'openai-compatible',
        model: 'llama-3.1-8b',
        baseURL: 'http://127.0.0.1:9/v1',
        apiKey: 'env:LLAMA_KEY',
      },
      'claude-sonnet-4-5',
    ]);
    assert.deepEqual(summary(await syncProject(client, project)), []);
    for (const e of r.endpoints) await client.deployments.delete(e.deploymentId);
  });

  it('changes nothing for a literal model key the server shows masked, and adds a version for a new key', async () => {
    const keyed = (apiKey: string) => ({
      agents: [
        agent({
          slug: 'keyed',
          model: { provider: 'openai', model: 'gpt-test', apiKey },
        }),
      ],
      problems: [],
    });
    const first = await syncProject(client, keyed('sk-proj-0123456789abcdefghij-1111'));
    assert.deepEqual(summary(first), ['runtime keyed created', 'deployment keyed created']);
    const stored = await client.runtimes.get(first.endpoints[0]?.runtimeId ?? '');
    assert.deepEqual(stored.definition.model, {
      provider: 'openai',
      model: 'gpt-test',
      apiKey: 'sk-…1111',
    });
    assert.deepEqual(
      summary(await syncProject(client, keyed('sk-proj-0123456789abcdefghij-1111'))),
      [],
    );
    const rotated = await syncProject(client, keyed('sk-proj-0123456789abcdefghij-2222'));
    assert.deepEqual(summary(rotated), ['runtime keyed created', 'deployment keyed updated']);
    for (const e of rotated.endpoints) await client.deployments.delete(e.deploymentId);
  });

  it('prunes deployments no agent has only when asked, and never while a file is broken', async () => {
    const onlyAlpha = (problems: Array<{ file: string; code: string; message: string }>) => ({
      agents: [agent({ slug: 'alpha', systemPrompt: 'You help a lot.' })],
      problems,
    });
    assert.deepEqual(summary(await syncProject(client, onlyAlpha([]))), []);
    const broken = onlyAlpha([{ file: 'agents/beta.ts', code: 'load_failed', message: 'x' }]);
    assert.deepEqual(summary(await syncProject(client, broken, { prune: true })), []);
    assert.deepEqual(summary(await syncProject(client, onlyAlpha([]), { prune: true })), [
      'deployment beta deleted',
    ]);
    assert.deepEqual(
      (await client.deployments.list()).data.map((d) => d.apiSlug),
      ['alpha'],
    );
  });
});
