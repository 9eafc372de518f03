import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SandboxEngine } from './engine.ts';
import { assertNoLeaks, openTestEngine, testDataDir, waitFor } from './testing/test-engine.ts';

describe('sandbox engine', () => {
  const dataDir = testDataDir('engine');
  let engine: SandboxEngine;

  before(async () => {
    engine = await openTestEngine(dataDir, { pool: { 'debian-13': 1 } });
  });
  after(async () => {
    for (const s of engine.list()) await engine.delete(s.id).catch(() => {});
    await engine?.close();
    assertNoLeaks(dataDir);
  });

  it('rejects bad options with typed errors and changes nothing', async () => {
    await assert.rejects(engine.create({ template: 'no-such-template' }), {
      code: 'template_not_found',
    });
    await assert.rejects(engine.create({ template: 'debian-13', resources: { memoryMiB: -1 } }), {
      code: 'invalid_options',
    });
    await assert.rejects(engine.create({ template: 'debian-13', resources: { pids: 0 } }), {
      code: 'invalid_options',
    });
    await assert.rejects(engine.create({ template: '' }), { code: 'invalid_options' });
    await assert.rejects(engine.create({ template: 'debian-13', cwd: 'relative' }), {
      code: 'invalid_options',
    });
    await assert.rejects(engine.create({ template: 'debian-13', bogus: 1 } as never), {
      code: 'invalid_options',
    });
    await assert.rejects(
      engine.create({ template: 'debian-13', network: { mode: 'egress', allowOut: ['nope'] } }),
      {
        code: 'invalid_options',
      },
    );
    await assert.rejects(engine.create({ template: 'debian-13', resources: { diskMiB: 100 } }), {
      code: 'not_supported',
    });
    await assert.rejects(
      engine.create({ template: 'debian-13', volumes: [{ name: 'missing', mountPath: '/data' }] }),
      { code: 'volume_not_found' },
    );
    assert.throws(() => engine.get('sbx_nope'), { code: 'sandbox_not_found' });
    assert.deepEqual(engine.list(), []);
  });

  it('claims a sandbox from the warm pool', async () => {
    await engine.warmUp();
    const before = Date.now();
    await using sbx = await engine.create({
      template: 'debian-13',
      env: { A: 'b' },
      metadata: { k: 'v' },
    });
    assert.ok(Date.parse(sbx.info().createdAt) < before, 'the sandbox was booted ahead of time');
    assert.equal((await sbx.exec('echo $A')).stdout, 'b\n');
    assert.deepEqual(sbx.info().metadata, { k: 'v' });
    // A sandbox that needs other limits is booted, not claimed.
    await using other = await engine.create({
      template: 'debian-13',
      resources: { memoryMiB: 256 },
    });
    assert.ok(Date.parse(other.info().createdAt) >= before);
  });

  it('stops a sandbox past its timeout (onTimeout: kill)', async () => {
    const sbx = await engine.create({ template: 'debian-13', timeoutMs: 300 });
    assert.ok(sbx.info().expiresAt);
    await waitFor(() => sbx.state === 'stopped', { timeoutMs: 5000 });
    await assert.rejects(sbx.exec('true'), { code: 'sandbox_state' });
  });

  it('pauses a sandbox past its timeout (onTimeout: pause)', async () => {
    const sbx = await engine.create({ template: 'debian-13', timeoutMs: 300, onTimeout: 'pause' });
    await waitFor(() => sbx.state === 'paused', { timeoutMs: 5000 });
    await sbx.resume();
    assert.equal((await sbx.exec('echo back')).stdout, 'back\n');
    await sbx.setTimeout(0);
    await sbx.delete();
  });

  it('removes what a crashed engine left half-made', async () => {
    const sbx = await engine.create({ template: 'debian-13' });
    await engine.close();
    // Simulate a crash between booting and recording: the container runs, no record exists.
    rmSync(join(dataDir, 'sandboxes', sbx.id, 'sandbox.json'));
    engine = await openTestEngine(dataDir, { pool: { 'debian-13': 1 } });
    assert.throws(() => engine.get(sbx.id), { code: 'sandbox_not_found' });
    assert.deepEqual(engine.list(), []);
  });

  it('refuses a second engine on the same data directory', async () => {
    // Same process holds the lock; simulate another live process by writing pid 1.
    const { writeFileSync } = await import('node:fs');
    const lock = join(dataDir, 'engine.lock');
    await engine.close();
    writeFileSync(lock, '1');
    await assert.rejects(openTestEngine(dataDir), { code: 'engine_locked' });
    rmSync(lock);
    engine = await openTestEngine(dataDir);
  });
});
