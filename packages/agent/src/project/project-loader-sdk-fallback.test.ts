import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadProjectStrict } from './project-loader.ts';

describe('project loader without @runtools/sdk in the project', () => {
  const root = mkdtempSync('/var/tmp/rt-project-nosdk-');
  after(() => rmSync(root, { recursive: true, force: true }));

  it("resolves @runtools/sdk (and its subpaths) to the loader's own copy", async () => {
    mkdirSync(join(root, 'agents'));
    writeFileSync(
      join(root, 'runtools.config.ts'),
      "import { defineConfig } from '@runtools/sdk';\nexport default defineConfig({ defaultTemplate: 'nodejs-20' });\n",
    );
    writeFileSync(
      join(root, 'agents', 'helper.ts'),
      `import { defineAgent } from '@runtools/sdk';
import { RunToolsError } from '@runtools/sdk/errors';
export default defineAgent({
  slug: 'helper',
  model: 'auto',
  systemPrompt: typeof RunToolsError === 'function' ? 'You help.' : '',
});
`,
    );
    const project = await loadProjectStrict(root);
    assert.deepEqual(
      project.agents.map((a) => [a.agent.slug, a.agent.template, a.agent.systemPrompt]),
      [['helper', 'nodejs-20', 'You help.']],
    );
  });

  it('still reports a package that is really missing', async () => {
    writeFileSync(
      join(root, 'agents', 'broken.ts'),
      "import { nothing } from 'no-such-package-here';\nexport default nothing;\n",
    );
    const project = await (await import('./project-loader.ts')).loadProject(root);
    assert.deepEqual(
      project.problems.map((p) => [p.file, p.code]),
      [['agents/broken.ts', 'module_not_found']],
    );
  });
});
