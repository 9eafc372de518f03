import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadProject, loadProjectStrict } from './project-loader.ts';

const SDK_DIR = resolve(import.meta.dirname, '../../../sdk');

/** A project directory whose `@runtools/sdk` resolves to this checkout's package. */
function makeProject(files: Record<string, string>): string {
  const root = mkdtempSync('/var/tmp/rt-project-');
  mkdirSync(join(root, 'node_modules', '@runtools'), { recursive: true });
  symlinkSync(SDK_DIR, join(root, 'node_modules', '@runtools', 'sdk'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const agentFile = (slug: string, extra = '') => `import { defineAgent } from '@runtools/sdk';
export default defineAgent({
  slug: '${slug}',
  model: 'claude-sonnet-4-5',
  systemPrompt: 'You help.',
  tools: ['bash', 'read_file'],${extra}
});
`;

describe('project loader', () => {
  const roots: string[] = [];
  after(() => {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  it('loads agents from agents/NAME.ts and agents/NAME/index.ts, the config and Dockerfile templates', async () => {
    const root = makeProject({
      'runtools.config.ts':
        "import { defineConfig } from '@runtools/sdk';\nexport default defineConfig({ defaultTemplate: 'nodejs-20' });\n",
      'agents/helper.ts': agentFile('helper'),
      'agents/complex/index.ts': `import { defineAgent } from '@runtools/sdk';
import { PROMPT } from './prompt.ts';
export default defineAgent({ slug: 'complex', model: { provider: 'custom', endpoint: 'http://127.0.0.1:9/v1', model: 'llama-3' }, systemPrompt: PROMPT, template: 'python-ml' });
`,
      'agents/complex/prompt.ts': "export const PROMPT = 'Split across files.';\n",
      'templates/tools/Dockerfile': 'FROM debian-13\nRUN true\n',
    });
    roots.push(root);
    const p = await loadProjectStrict(root);
    assert.deepEqual(
      p.agents.map((a) => [a.agent.slug, a.agent.template, a.file]),
      [
        ['complex', 'python-ml', 'agents/complex/index.ts'],
        ['helper', 'nodejs-20', 'agents/helper.ts'],
      ],
    );
    assert.equal(p.agents[0]?.agent.systemPrompt, 'Split across files.');
    assert.equal(p.agents[1]?.agent.maxSteps, 25);
    assert.deepEqual(
      p.templates.map((t) => t.slug),
      ['tools'],
    );
    assert.equal(p.config.defaultTemplate, 'nodejs-20');
  });

  it('reports every broken file at once, naming the file and the field', async () => {
    const root = makeProject({
      'agents/good.ts': agentFile('good'),
      'agents/wrong-field.ts': agentFile('wrong', '\n  maxSteps: -3,'),
      'agents/bad-model.ts':
        "import { defineAgent } from '@runtools/sdk';\nexport default defineAgent({ slug: 'm', model: 42 as never, systemPrompt: 'x' });\n",
      'agents/syntax.ts': 'export default {{;\n',
      'agents/no-default.ts': 'export const x = 1;\n',
      'agents/dup.ts': agentFile('good'),
    });
    roots.push(root);
    const p = await loadProject(root);
    assert.deepEqual(
      p.agents.map((a) => a.agent.slug),
      ['good'],
    );
    const byFile = Object.fromEntries(p.problems.map((x) => [x.file, x]));
    assert.match(byFile['agents/wrong-field.ts']?.message ?? '', /field "maxSteps"/);
    assert.match(byFile['agents/bad-model.ts']?.message ?? '', /field "model"/);
    assert.equal(byFile['agents/syntax.ts']?.code, 'load_failed');
    assert.match(byFile['agents/no-default.ts']?.message ?? '', /defineAgent/);
    assert.equal(
      byFile['agents/good.ts']?.code ?? byFile['agents/dup.ts']?.code,
      'duplicate_agent',
    );
    await assert.rejects(loadProjectStrict(root), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'invalid_project');
      assert.match(err.message, /agents\/syntax\.ts/);
      assert.match(err.message, /agents\/wrong-field\.ts/);
      return true;
    });
  });

  it('picks up an edited agent file on the next load', async () => {
    const root = makeProject({ 'agents/a.ts': agentFile('a') });
    roots.push(root);
    assert.equal((await loadProjectStrict(root)).agents[0]?.agent.systemPrompt, 'You help.');
    writeFileSync(join(root, 'agents/a.ts'), agentFile('a').replace('You help.', 'You help more.'));
    utimesSync(join(root, 'agents/a.ts'), new Date(), new Date(Date.now() + 5000));
    assert.equal((await loadProjectStrict(root)).agents[0]?.agent.systemPrompt, 'You help more.');
  });

  it('picks up an edit of a file an agent imports (tools.ts), not only of the agent file', async () => {
    const tools = (description: string) => `import { defineTool } from '@runtools/sdk';
import { z } from 'zod';
export const lookupOrder = defineTool({
  name: 'lookup_order',
  description: '${description}',
  input: z.object({ orderId: z.string() }),
  execute: ({ orderId }) => orderId,
});
`;
    const root = makeProject({
      'agents/support-bot/index.ts': `import { defineAgent } from '@runtools/sdk';
import { lookupOrder } from './tools.ts';
export default defineAgent({
  slug: 'support-bot',
  model: 'scripted',
  systemPrompt: 'You help.',
  tools: ['bash', lookupOrder],
});
`,
      'agents/support-bot/tools.ts': tools('Looks up an order.'),
    });
    roots.push(root);
    const description = async () => {
      const { agents } = await loadProjectStrict(root);
      return (agents[0]?.agent.tools[1] as { description?: string } | undefined)?.description;
    };
    assert.equal(await description(), 'Looks up an order.');
    writeFileSync(join(root, 'agents/support-bot/tools.ts'), tools('Finds an order.'));
    assert.equal(await description(), 'Finds an order.');
  });

  it('rejects an invalid config with the field named', async () => {
    const root = makeProject({ 'runtools.config.ts': 'export default { dev: { port: 0 } };\n' });
    roots.push(root);
    const p = await loadProject(root);
    assert.match(p.problems[0]?.message ?? '', /dev\.port/);
  });
});
