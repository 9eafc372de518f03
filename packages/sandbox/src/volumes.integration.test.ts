import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useTestEngine } from './testing/test-engine.ts';

describe('volumes', () => {
  const t = useTestEngine('vol');

  it('persists data across sandboxes and refuses to delete a mounted volume', async () => {
    await t.engine.volumes.create('cache');
    await assert.rejects(t.engine.volumes.create('cache'), { code: 'volume_exists' });
    await assert.rejects(t.engine.volumes.create('Bad Name'), { code: 'invalid_options' });
    assert.deepEqual(
      (await t.engine.volumes.list()).map((v) => v.name),
      ['cache'],
    );

    const a = await t.engine.create({
      template: 'debian-13',
      volumes: [{ name: 'cache', mountPath: '/data' }],
    });
    await a.exec('echo kept > /data/file; mkdir -p /data/dir');
    await assert.rejects(t.engine.volumes.delete('cache'), { code: 'volume_in_use' });
    await a.delete();

    const b = await t.engine.create({
      template: 'debian-13',
      volumes: [{ name: 'cache', mountPath: '/mnt/cache', readOnly: true }],
    });
    assert.equal((await b.exec('cat /mnt/cache/file')).stdout, 'kept\n');
    const write = await b.exec('echo x > /mnt/cache/other');
    assert.notEqual(write.exitCode, 0, 'read-only mount');
    // A volume survives pause/resume of the sandbox that mounts it.
    await b.pause();
    await b.resume();
    assert.equal((await b.files.read('/mnt/cache/file')).toString(), 'kept\n');
    await b.delete();

    await t.engine.volumes.delete('cache');
    await assert.rejects(t.engine.volumes.get('cache'), { code: 'volume_not_found' });
  });
});
