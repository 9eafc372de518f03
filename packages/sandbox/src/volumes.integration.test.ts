import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SandboxEngine } from './engine.ts';
import { assertNoLeaks, openTestEngine, testDataDir } from './testing/test-engine.ts';

describe('volumes', () => {
  const dataDir = testDataDir('vol');
  let engine: SandboxEngine;

  before(async () => {
    engine = await openTestEngine(dataDir);
  });
  after(async () => {
    for (const s of engine.list()) await engine.delete(s.id).catch(() => {});
    await engine?.close();
    assertNoLeaks(dataDir);
  });

  it('persists data across sandboxes and refuses to delete a mounted volume', async () => {
    await engine.volumes.create('cache');
    await assert.rejects(engine.volumes.create('cache'), { code: 'volume_exists' });
    await assert.rejects(engine.volumes.create('Bad Name'), { code: 'invalid_options' });
    assert.deepEqual(
      (await engine.volumes.list()).map((v) => v.name),
      ['cache'],
    );

    const a = await engine.create({
      template: 'debian-13',
      volumes: [{ name: 'cache', mountPath: '/data' }],
    });
    await a.exec('echo kept > /data/file; mkdir -p /data/dir');
    await assert.rejects(engine.volumes.delete('cache'), { code: 'volume_in_use' });
    await a.delete();

    const b = await engine.create({
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

    await engine.volumes.delete('cache');
    await assert.rejects(engine.volumes.get('cache'), { code: 'volume_not_found' });
  });
});
