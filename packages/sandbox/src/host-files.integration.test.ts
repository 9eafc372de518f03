import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { useTestEngine } from './testing/test-engine.ts';

/** Whether an unprivileged host user (nobody) can read `path`. */
function nobodyCanRead(path: string): boolean {
  return (
    spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'cat', path])
      .status === 0
  );
}

describe('what the engine keeps on the host about a sandbox', () => {
  const t = useTestEngine('host-files');

  it('is readable by root only (the images also by the sandbox’s own root group), and a pause still resumes', async () => {
    await using sbx = await t.engine.create({
      template: 'debian-13',
      env: { API_TOKEN: 'tok-host-files-secret' },
    });
    const dir = join(t.dataDir, 'sandboxes', sbx.id);
    await sbx.spawn('sleep 600');
    await sbx.pause();
    assert.equal(statSync(dir).mode & 0o777, 0o711, 'sandbox dir: traversable, not listable');
    const record = join(dir, 'sandbox.json');
    assert.equal(statSync(record).mode & 0o777, 0o600);
    assert.equal(nobodyCanRead(record), false, 'the record (it holds env values)');
    const images = join(dir, 'checkpoint');
    const st = statSync(images);
    assert.equal(st.mode & 0o777, 0o750);
    assert.deepEqual([st.uid, st.gid], [0, 100_000]);
    const files = readdirSync(images);
    assert.ok(files.length > 3);
    for (const f of files) {
      const s = statSync(join(images, f));
      assert.equal(s.mode & 0o007, 0, `${f} is not readable by others`);
    }
    assert.equal(nobodyCanRead(join(images, 'inventory.img')), false);
    // CRIU restores from inside the sandbox's user namespace: the images stay readable there.
    await sbx.resume();
    assert.equal((await sbx.exec('echo $API_TOKEN')).stdout, 'tok-host-files-secret\n');
    assert.equal((await sbx.exec('pgrep -x sleep >/dev/null && echo kept')).stdout, 'kept\n');
  });
});
