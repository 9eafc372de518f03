import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CliServer, runCli, startCliServer } from '../testing/remote-cli-fixture.ts';

const sdkPackage = resolve(import.meta.dirname, '../../../sdk');

describe('runtools deploy (the CLI as a child process, a real server)', () => {
  let cp: CliServer;
  const project = mkdtempSync(join(tmpdir(), 'runtools-cli-deploy-'));
  // Built templates land in the shared templates dir: a unique slug, deleted afterwards.
  const template = `cli-deploy-${process.pid}-${Date.now().toString(36)}`;

  const agentFile = (slug: string, systemPrompt: string, tpl: string) =>
    [
      "import { defineAgent } from '@runtools/sdk';",
      'export default defineAgent({',
      `  slug: '${slug}',`,
      `  model: { provider: 'custom', endpoint: '${cp.model.baseURL}', model: 'scripted' },`,
      `  systemPrompt: '${systemPrompt}',`,
      "  tools: ['bash'],",
      `  template: '${tpl}',`,
      '});',
      '',
    ].join('\n');

  /** What the server holds: every runtime version and deployment, as the API shows them. */
  const serverState = async () => ({
    runtimes: (await cp.rt.runtimes.list({ limit: 100 })).data,
    deployments: (await cp.rt.deployments.list({ limit: 100 })).data,
    builds: (await cp.rt.templates.builds.list(template)).data.map((b) => b.id),
  });

  before(async () => {
    cp = await startCliServer();
    // The project imports @runtools/sdk as a scaffolded one does: from its node_modules.
    mkdirSync(join(project, 'node_modules', '@runtools'), { recursive: true });
    symlinkSync(sdkPackage, join(project, 'node_modules', '@runtools', 'sdk'));
    writeFileSync(
      join(project, 'runtools.config.ts'),
      "import { defineConfig } from '@runtools/sdk';\nexport default defineConfig({});\n",
    );
    mkdirSync(join(project, 'agents'));
    writeFileSync(join(project, 'agents', 'greeter.ts'), agentFile('greeter', 'Greet.', template));
    writeFileSync(join(project, 'agents', 'plain.ts'), agentFile('plain', 'Plain.', 'debian-13'));
    mkdirSync(join(project, 'templates', template), { recursive: true });
    writeFileSync(
      join(project, 'templates', template, 'Dockerfile'),
      'FROM debian-13\nCOPY motd /srv/motd\nWORKDIR /srv\n',
    );
    writeFileSync(join(project, 'templates', template, 'motd'), 'deployed-by-the-cli\n');
  });
  after(async () => {
    for (const d of (await cp?.rt.deployments.list({ limit: 100 }))?.data ?? []) {
      await cp.rt.deployments.delete(d.id).catch(() => {});
    }
    await cp?.rt.templates.delete(template).catch(() => {});
    await cp?.[Symbol.asyncDispose]();
    rmSync(project, { recursive: true, force: true });
  });

  it('builds the templates, creates runtimes and deployments, and prints each endpoint', async () => {
    const result = await runCli(['deploy'], { env: cp.env, cwd: join(project, 'agents') });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stderr, new RegExp(`template ${template}: step 1/3: FROM`));
    assert.match(result.stdout, new RegExp(`✔ template ${template} built`));
    assert.match(result.stdout, /✔ runtime greeter created \(version 1\)/);
    assert.match(result.stdout, /✔ deployment plain created/);
    assert.match(result.stdout, new RegExp(`greeter\\s+POST ${cp.url}/v1/run/greeter`));
    assert.match(result.stdout, new RegExp(`plain\\s+POST ${cp.url}/v1/run/plain`));
    const { deployments } = await serverState();
    assert.deepEqual(deployments.map((d) => [d.apiSlug, d.template]).sort(), [
      ['greeter', template],
      ['plain', 'debian-13'],
    ]);
    // The deployed agent runs in the project's template.
    cp.model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'cat motd' } }] },
      { text: 'Read it.' },
    );
    const run = await runCli(['run', 'greeter', 'read the motd'], { env: cp.env });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /⎿ deployed-by-the-cli/);
  });

  it('a second deploy with no change changes nothing and says so', async () => {
    const before = await serverState();
    const result = await runCli(['deploy', '--dir', project], { env: cp.env, cwd: '/' });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /No changes: the server already serves this project as it is\./);
    assert.doesNotMatch(result.stdout, /✔/);
    assert.equal(result.stderr, '');
    assert.deepEqual(await serverState(), before);
    const json = await runCli(['deploy', '--json'], { env: cp.env, cwd: project });
    const report = JSON.parse(json.stdout) as { changed: boolean; endpoints: unknown[] };
    assert.equal(report.changed, false);
    assert.equal(report.endpoints.length, 2);
  });

  it('an edited agent becomes a new runtime version and its deployment follows', async () => {
    writeFileSync(join(project, 'agents', 'plain.ts'), agentFile('plain', 'Edited.', 'debian-13'));
    const result = await runCli(['deploy'], { env: cp.env, cwd: project });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /✔ runtime plain created \(version 2\)/);
    assert.match(result.stdout, /✔ deployment plain updated/);
    assert.doesNotMatch(result.stdout, /greeter created|greeter updated/);
  });

  it('a broken agent file stops the deploy with its problem (exit 1), changing nothing', async () => {
    const before = await serverState();
    writeFileSync(join(project, 'agents', 'broken.ts'), 'export default 42;\n');
    try {
      const result = await runCli(['deploy'], { env: cp.env, cwd: project });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /invalid_project[\s\S]*agents\/broken\.ts/);
      assert.deepEqual(await serverState(), before);
    } finally {
      rmSync(join(project, 'agents', 'broken.ts'));
    }
  });
});
