import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SandboxEngine } from '../engine.ts';
import { assertNoLeaks, openTestEngine, testDataDir } from '../testing/test-engine.ts';

describe('supervisor socket', () => {
  const dataDir = testDataDir('revive');
  let engine: SandboxEngine;

  before(async () => {
    engine = await openTestEngine(dataDir);
  });
  after(async () => {
    for (const s of engine.list()) await engine.delete(s.id).catch(() => {});
    await engine?.close();
    assertNoLeaks(dataDir);
  });

  it('is re-created when a process in the sandbox deleted it', async () => {
    const sbx = await engine.create({ template: 'debian-13' });
    // The engine's open connection survives the unlink; a new engine has to connect afresh.
    await sbx.exec('rm -f /.rt/run/sup.sock');
    assert.equal((await sbx.exec('echo still')).stdout, 'still\n');
    await engine.close();
    engine = await openTestEngine(dataDir);
    const again = engine.get(sbx.id);
    assert.equal(again.state, 'running');
    assert.equal((await again.exec('test -S /.rt/run/sup.sock && echo back')).stdout, 'back\n');
  });
});
