import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { useTestEngine } from './testing/test-engine.ts';

const MiB = 1024 * 1024;

/** Mount options of the mount at `target` as a sandbox sees it (per-mount and super-block). */
function mountOptions(mountinfo: string, target: string): string[] {
  const line = mountinfo.split('\n').find((l) => l.split(' ')[4] === target);
  assert.ok(line, `no mount at ${target}`);
  const [left, right] = line.split(' - ');
  return [...(left?.split(' ')[5]?.split(',') ?? []), ...(right?.split(' ')[2]?.split(',') ?? [])];
}

describe('sandbox disk', () => {
  // The engine's default quota, small so that the test fills it in a moment.
  const t = useTestEngine('disk', { diskMiB: 48 });

  it('gives a sandbox that asks for no quota the default one: a full disk is ENOSPC inside and costs the host no more', async () => {
    await using sbx = await t.engine.create({ template: 'debian-13' });
    assert.equal(sbx.info().resources.diskMiB, 48);
    const image = join(t.dataDir, 'sandboxes', sbx.id, 'disk.img');
    const hostFree = async () => {
      const s = await statfs(t.dataDir);
      return s.bavail * s.bsize;
    };
    const before = await hostFree();
    // rt-init's socket dir is writable from inside, so it must be inside the quota too.
    for (const target of ['/.rt/run/fill', '/root/fill']) {
      const dd = await sbx.exec(`dd if=/dev/zero of=${target} bs=1M count=1024 2>&1`);
      assert.notEqual(dd.exitCode, 0, `${target}: ${dd.stdout}`);
      assert.match(dd.stdout, /No space left on device/);
    }
    // 2 GiB were asked for: the host gave the sandbox's image at most its quota. (The margin is
    // for whatever else writes to this file system meanwhile, such as a CI run.)
    const allocated = statSync(image).blocks * 512;
    assert.ok(allocated <= 50 * MiB, `the image holds ${allocated / MiB} MiB`);
    const used = before - (await hostFree());
    assert.ok(used < 512 * MiB, `the host lost ${Math.round(used / MiB)} MiB`);
    // The sandbox stays usable once it frees space.
    await sbx.exec('rm -f /.rt/run/fill /root/fill');
    assert.equal((await sbx.exec('echo fits > /root/small && cat /root/small')).stdout, 'fits\n');
  });

  it('mounts /proc nosuid,noexec,nodev and the root file system nodev', async () => {
    await using sbx = await t.engine.create({ template: 'debian-13' });
    const mountinfo = (await sbx.exec('cat /proc/self/mountinfo')).stdout;
    const proc = mountOptions(mountinfo, '/proc');
    for (const flag of ['nosuid', 'noexec', 'nodev'])
      assert.ok(proc.includes(flag), `/proc ${proc}`);
    assert.ok(mountOptions(mountinfo, '/').includes('nodev'), 'root overlay nodev');
    // Nor can a device node be made (no CAP_MKNOD); nodev is the second wall.
    const dev = await sbx.exec('mknod /root/null c 1 3 2>&1; echo rc=$?');
    assert.match(dev.stdout, /Operation not permitted[\s\S]*rc=1/);
  });
});
