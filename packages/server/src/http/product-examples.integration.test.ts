import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadProjectStrict } from '@runtools/agent';
import { useTestEngine } from '@runtools/sandbox/testing';
import { defaultSystemPrompt, RunTools, RunToolsApiError } from '@runtools/sdk';
import { type Database, openDatabase } from '../db/database.ts';
import { startTestServer, type TestServer, testBootstrapKey } from '../testing/test-server.ts';

/**
 * The code the product's own description shows, run as written (only `rt` is made here): each
 * call must work against a server, or fail the way a user can act on.
 */
describe("the product description's examples, verbatim", () => {
  const t = useTestEngine('examples');
  let dir: string;
  let database: Database;
  let server: TestServer;
  let rt: RunTools;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'runtools-examples-'));
    database = await openDatabase({ kind: 'sqlite', dataDir: dir });
    server = await startTestServer(database, { engine: t.engine });
    rt = new RunTools({ apiKey: testBootstrapKey, baseUrl: server.url });
  });

  after(async () => {
    // The templates dir is shared by every test run: leave nothing of ours in it.
    await rt?.templates.delete('my-env').catch(() => {});
    await t.engine.templates.delete('my-env', new Set()).catch(() => {});
    await server?.[Symbol.asyncDispose]();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rt.templates.create with the flat shape: refused for what the OS lacks, naming what would work', async () => {
    const error = await rt.templates
      .create({
        slug: 'my-env',
        os: 'ubuntu-22.04',
        runtimes: [
          { name: 'node', version: '20' },
          { name: 'python', version: '3.12' },
        ],
        npm: ['typescript', 'tsx'],
        pip: ['numpy', 'pandas'],
      })
      .then(
        () => assert.fail('Python 3.12 does not exist for ubuntu-22.04'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof RunToolsApiError, String(error));
    // Not a refused shape: the definition is read, and what it asks for is checked.
    assert.equal(error.code, 'template_runtime_unavailable', error.message);
    assert.equal(error.status, 400);
    assert.match(error.message, /python 3\.12 is not available/);
    assert.match(error.message, /ubuntu-24\.04 ships 3\.12/);
  });

  it('rt.templates.create with the flat shape builds a satisfiable spec, and sandboxes boot from it', async () => {
    const template = await rt.templates.create({
      slug: 'my-env',
      os: 'ubuntu-24.04',
      runtimes: [
        { name: 'node', version: '20' },
        { name: 'python', version: '3.12' },
      ],
      npm: ['typescript'],
    });
    assert.equal(template.kind, 'spec');
    assert.equal(template.spec?.os, 'ubuntu-24.04');
    const ready = await rt.templates.waitForBuild('my-env');
    assert.equal(ready.status, 'ready');
    assert.match(ready.build?.runtimeVersions?.node ?? '', /^v?20\./);
    assert.match(ready.build?.runtimeVersions?.python ?? '', /3\.12/);
    const sandbox = await rt.sandboxes.create({ template: 'my-env' });
    try {
      const run = await rt.sandboxes.exec(sandbox.id, {
        command:
          'node --version && python3 --version && tsc --version && . /etc/os-release && echo $VERSION_ID',
      });
      assert.equal(run.exitCode, 0, run.stderr);
      const [node, python, tsc, os] = run.stdout.trim().split('\n');
      assert.match(node ?? '', /^v20\./);
      assert.match(python ?? '', /^Python 3\.12/);
      assert.match(tsc ?? '', /^Version \d/);
      assert.equal(os, '24.04');
    } finally {
      await rt.sandboxes.delete(sandbox.id);
    }
  });

  it('rt.runtimes.create takes just a model, or a custom OpenAI-compatible endpoint', async () => {
    const runtime = await rt.runtimes.create({ model: 'claude-opus-4-5' });
    const custom = await rt.runtimes.create({
      model: {
        provider: 'custom',
        endpoint: 'https://my-model.example.com/v1/chat',
        apiKey: process.env.MY_MODEL_KEY,
      },
    });
    assert.match(runtime.slug, /^agent-[0-9a-f]{8}$/);
    assert.notEqual(custom.slug, runtime.slug);
    assert.equal(runtime.definition.model, 'claude-opus-4-5');
    assert.equal(runtime.definition.systemPrompt, defaultSystemPrompt);
    assert.deepEqual(custom.definition.model, {
      provider: 'custom',
      endpoint: 'https://my-model.example.com/v1/chat',
    });
    // A runtime named by the server is served like any other.
    const deployment = await rt.deployments.create({
      apiSlug: 'opus',
      runtimeId: runtime.id,
      template: 'debian-13',
    });
    assert.equal(deployment.runtimeId, runtime.id);
  });

  it('defineAgent in agents/code-assistant.ts, as the description writes it', async () => {
    const project = mkdtempSync(join(tmpdir(), 'runtools-example-project-'));
    try {
      mkdirSync(join(project, 'agents'));
      writeFileSync(
        join(project, 'agents', 'code-assistant.ts'),
        `import { defineAgent } from '@runtools/sdk';

export default defineAgent({
  slug: 'code-assistant',
  name: 'Code Assistant',
  model: 'claude-sonnet-4-20250514',
  systemPrompt: 'You are an expert software engineer.',
  tools: ['bash', 'read_file', 'edit_file', 'grep', 'glob'],
  template: 'nodejs-20',
});
`,
      );
      const loaded = await loadProjectStrict(project);
      const [agent] = loaded.agents;
      assert.equal(agent?.agent.slug, 'code-assistant');
      assert.equal(agent?.agent.template, 'nodejs-20');
      assert.equal(agent?.agent.model, 'claude-sonnet-4-20250514');
      const runtime = await rt.runtimes.create(JSON.parse(JSON.stringify(agent?.agent)));
      assert.equal(runtime.slug, 'code-assistant');
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
