import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { waitFor } from '@runtools/sandbox/testing';
import { isProjectChange, ProjectWatcher } from './project-watcher.ts';

describe('ProjectWatcher', () => {
  const root = mkdtempSync('/var/tmp/rt-watcher-');
  after(() => rmSync(root, { recursive: true, force: true }));

  it('reports one burst per save in agents/, templates/ and runtools.config.ts, not editor noise', async () => {
    const bursts: string[][] = [];
    using _watcher = new ProjectWatcher({
      root,
      debounceMs: 50,
      onChange: (paths) => bursts.push(paths.sort()),
    });
    // Each step waits for its burst (not for a delay): the watcher has then also taken up what
    // the step created, and the next step's burst cannot mix with it.
    // agents/ appears after the start.
    mkdirSync(join(root, 'agents'));
    await waitFor(() => bursts.length === 1);
    assert.deepEqual(bursts, [['agents']]);
    bursts.length = 0;
    writeFileSync(join(root, 'agents', 'a.ts'), 'one');
    writeFileSync(join(root, 'agents', 'a.ts'), 'two');
    writeFileSync(join(root, 'agents', '.a.ts.swp'), 'x');
    await waitFor(() => bursts.length > 0);
    assert.deepEqual(bursts, [['agents/a.ts']]);
    mkdirSync(join(root, 'templates', 'web'), { recursive: true });
    writeFileSync(join(root, 'templates', 'web', 'Dockerfile'), 'FROM debian-13\n');
    writeFileSync(join(root, 'runtools.config.ts'), 'export default {};\n');
    writeFileSync(join(root, 'notes.md'), 'not watched');
    await waitFor(() => bursts.length > 1);
    assert.equal(bursts.length, 2);
    assert.ok(bursts[1]?.includes('runtools.config.ts'));
    // A new folder is reported as such (what was written into it before its watch began, too).
    assert.ok(bursts[1]?.some((p) => p.startsWith('templates')));
    assert.ok(!bursts.flat().includes('notes.md'));
    writeFileSync(join(root, 'templates', 'web', 'Dockerfile'), 'FROM debian-13\nRUN true\n');
    await waitFor(() => bursts.length > 2);
    assert.deepEqual(bursts.slice(2), [['templates/web/Dockerfile']]);
  });

  it('also reports the files agents import from elsewhere in the project, once told of them', async () => {
    const other = mkdtempSync('/var/tmp/rt-watcher-files-');
    mkdirSync(join(other, 'lib'));
    writeFileSync(join(other, 'lib', 'orders.ts'), 'one');
    writeFileSync(join(other, 'lib', 'unrelated.ts'), 'one');
    writeFileSync(join(other, 'shared.ts'), 'one');
    const bursts: string[][] = [];
    try {
      using watcher = new ProjectWatcher({
        root: other,
        debounceMs: 50,
        onChange: (paths) => bursts.push(paths.sort()),
      });
      watcher.watchFiles(['agents/bot/index.ts', 'lib/orders.ts', 'shared.ts']);
      writeFileSync(join(other, 'lib', 'unrelated.ts'), 'two');
      writeFileSync(join(other, 'lib', 'orders.ts'), 'two');
      writeFileSync(join(other, 'shared.ts'), 'two');
      await waitFor(() => bursts.flat().length >= 2);
      assert.deepEqual(bursts.flat().sort(), ['lib/orders.ts', 'shared.ts']);
      watcher.watchFiles([]);
      bursts.length = 0;
      writeFileSync(join(other, 'lib', 'orders.ts'), 'three');
      writeFileSync(join(other, 'runtools.config.ts'), 'export default {};\n');
      await waitFor(() => bursts.length > 0);
      assert.deepEqual(bursts, [['runtools.config.ts']]);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('tells editor files from project files', () => {
    for (const p of ['agents/.a.ts.swp', 'agents/a.ts~', 'agents/4913', 'agents/#a.ts#'])
      assert.equal(isProjectChange(p), false, p);
    for (const p of ['agents/a.ts', 'templates/x/Dockerfile', 'runtools.config.ts', 'agents'])
      assert.equal(isProjectChange(p), true, p);
  });
});
