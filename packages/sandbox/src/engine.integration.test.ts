import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openTestEngine, useTestEngine, waitFor } from './testing/test-engine.ts';

describe('sandbox engine', () => {
  const t = useTestEngine('engine', { pool: { 'debian-13': 1 } });

  it('rejects bad options with typed errors and changes nothing', async () => {
    await assert.rejects(t.engine.create({ template: 'no-such-template' }), {
      code: 'template_not_found',
    });
    await assert.rejects(t.engine.create({ template: 'debian-13', resources: { memoryMiB: -1 } }), {
      code: 'invalid_options',
    });
    await assert.rejects(t.engine.create({ template: 'debian-13', resources: { pids: 0 } }), {
      code: 'invalid_options',
    });
    await assert.rejects(t.engine.create({ template: '' }), { code: 'invalid_options' });
    await assert.rejects(t.engine.create({ template: 'debian-13', cwd: 'relative' }), {
      code: 'invalid_options',
    });
    await assert.rejects(t.engine.create({ template: 'debian-13', bogus: 1 } as never), {
      code: 'invalid_options',
    });
    await assert.rejects(
      t.engine.create({ template: 'debian-13', network: { mode: 'egress', allowOut: ['nope'] } }),
      {
        code: 'invalid_options',
      },
    );
    await assert.rejects(t.engine.create({ template: 'debian-13', resources: { diskMiB: 1 } }), {
      code: 'invalid_options',
    });
    await assert.rejects(
      t.engine.create({
        template: 'debian-13',
        volumes: [{ name: 'missing', mountPath: '/data' }],
      }),
      { code: 'volume_not_found' },
    );
    assert.throws(() => t.engine.get('sbx_nope'), { code: 'sandbox_not_found' });
    assert.deepEqual(t.engine.list(), []);
  });

  it('claims a sandbox from the warm pool', async () => {
    await t.engine.warmUp();
    const before = Date.now();
    await using sbx = await t.engine.create({
      template: 'debian-13',
      env: { A: 'b' },
      metadata: { k: 'v' },
    });
    assert.ok(Date.parse(sbx.info().createdAt) < before, 'the sandbox was booted ahead of time');
    assert.equal((await sbx.exec('echo $A')).stdout, 'b\n');
    assert.deepEqual(sbx.info().metadata, { k: 'v' });
    // A sandbox that needs other limits is booted, not claimed.
    await using other = await t.engine.create({
      template: 'debian-13',
      resources: { memoryMiB: 256 },
    });
    assert.ok(Date.parse(other.info().createdAt) >= before);
  });

  it('enforces a disk quota on the writable layer', async () => {
    await using sbx = await t.engine.create({ template: 'debian-13', resources: { diskMiB: 32 } });
    const big = await sbx.exec('dd if=/dev/zero of=/root/big bs=1M count=64 2>&1');
    assert.notEqual(big.exitCode, 0);
    assert.match(big.stdout, /No space left on device/);
    await sbx.exec('rm /root/big');
    assert.equal((await sbx.exec('echo fits > /root/small && cat /root/small')).stdout, 'fits\n');
    // The quota survives pause/resume (the image stays mounted under the overlay).
    await sbx.pause();
    await sbx.resume();
    assert.equal((await sbx.files.read('/root/small')).toString(), 'fits\n');
  });

  it('stops a sandbox past its timeout (onTimeout: kill)', async () => {
    const sbx = await t.engine.create({ template: 'debian-13', timeoutMs: 300 });
    assert.ok(sbx.info().expiresAt);
    await waitFor(() => sbx.state === 'stopped');
    await assert.rejects(sbx.exec('true'), { code: 'sandbox_state' });
  });

  it('pauses a sandbox past its timeout (onTimeout: pause)', async () => {
    const sbx = await t.engine.create({
      template: 'debian-13',
      timeoutMs: 300,
      onTimeout: 'pause',
    });
    await waitFor(() => sbx.state === 'paused');
    await sbx.resume();
    assert.equal((await sbx.exec('echo back')).stdout, 'back\n');
    await sbx.setTimeout(0);
    await sbx.delete();
  });

  it('applies a timeout that passed while no engine ran as soon as an engine opens', async () => {
    const long = 10 * 60_000;
    const pausing = await t.engine.create({
      template: 'debian-13',
      timeoutMs: long,
      onTimeout: 'pause',
    });
    const killing = await t.engine.create({
      template: 'debian-13',
      timeoutMs: long,
      onTimeout: 'kill',
    });
    const deadline = (id: string) =>
      (
        JSON.parse(readFileSync(join(t.dataDir, 'sandboxes', id, 'sandbox.json'), 'utf8')) as {
          expiresAt?: string;
        }
      ).expiresAt;
    // The deadline is on disk, about `long` from now.
    await waitFor(() => deadline(pausing.id) !== undefined && deadline(killing.id) !== undefined);
    const at = Date.parse(deadline(pausing.id) ?? '');
    assert.ok(Math.abs(at - (Date.now() + long)) < 60_000, `deadline ${deadline(pausing.id)}`);
    await t.engine.close();
    // The engine is down while the deadlines pass (moved back on disk rather than waited for).
    for (const id of [pausing.id, killing.id]) {
      const file = join(t.dataDir, 'sandboxes', id, 'sandbox.json');
      const record = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      writeFileSync(file, JSON.stringify({ ...record, expiresAt: new Date(Date.now() - 1000) }));
    }
    await t.restart();
    // A fresh 10-minute timeout would leave both running: the policy applies at once instead.
    await waitFor(() => t.engine.get(pausing.id).state === 'paused', { timeoutMs: 30_000 });
    await waitFor(() => t.engine.list().every((s) => s.id !== killing.id), { timeoutMs: 30_000 });
    // Resumed, it gets a whole new timeout.
    await t.engine.get(pausing.id).resume();
    await waitFor(() => {
      const d = deadline(pausing.id);
      return d !== undefined && Date.parse(d) > Date.now() + long - 60_000;
    });
    await t.engine.delete(pausing.id);
  });

  it('removes what a crashed engine left half-made', async () => {
    const sbx = await t.engine.create({ template: 'debian-13' });
    await t.engine.close();
    // Simulate a crash between booting and recording: the container runs, no record exists.
    rmSync(join(t.dataDir, 'sandboxes', sbx.id, 'sandbox.json'));
    await t.restart();
    assert.throws(() => t.engine.get(sbx.id), { code: 'sandbox_not_found' });
    assert.deepEqual(t.engine.list(), []);
  });

  it('refuses to open when the host gives the sandboxes’ uid range to another user', async () => {
    const subuid = join(t.dataDir, 'subuid-test');
    writeFileSync(subuid, 'runtools:100000:65536\nalice:120000:1000\n');
    await t.engine.close();
    await assert.rejects(
      openTestEngine(t.dataDir, { subordinateIdFiles: { uid: subuid, gid: '/nonexistent' } }),
      { code: 'id_range_conflict' },
    );
    rmSync(subuid);
    await t.restart();
  });

  it('refuses a second engine on the same data directory', async () => {
    // This process holds the lock; another live process (pid 1) holding it is refused.
    const lock = join(t.dataDir, 'engine.lock');
    await t.engine.close();
    writeFileSync(lock, '1');
    await assert.rejects(openTestEngine(t.dataDir), { code: 'engine_locked' });
    rmSync(lock);
    await t.restart();
  });
});
