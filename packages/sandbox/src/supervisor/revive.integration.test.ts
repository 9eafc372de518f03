import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useTestEngine } from '../testing/test-engine.ts';

describe('supervisor socket', () => {
  const t = useTestEngine('revive');

  it('is re-created when a process in the sandbox deleted it', async () => {
    const sbx = await t.engine.create({ template: 'debian-13' });
    // The engine's open connection survives the unlink; a new engine has to connect afresh.
    await sbx.exec('rm -f /.rt/run/sup.sock');
    assert.equal((await sbx.exec('echo still')).stdout, 'still\n');
    await t.restart();
    const again = t.engine.get(sbx.id);
    assert.equal(again.state, 'running');
    assert.equal((await again.exec('test -S /.rt/run/sup.sock && echo back')).stdout, 'back\n');
  });
});
