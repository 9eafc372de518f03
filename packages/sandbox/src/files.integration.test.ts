import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import type { Sandbox } from './sandbox.ts';
import { useTestEngine } from './testing/test-engine.ts';

describe('files in a sandbox', () => {
  const t = useTestEngine('files');
  let sbx: Sandbox;

  before(async () => {
    sbx = await t.engine.create({ template: 'debian-13', cwd: '/root' });
  });

  it('writes, reads, appends and stats a file', async () => {
    await sbx.files.write('/work/a/b.txt', 'one\ntwo\nthree\n');
    assert.equal((await sbx.files.read('/work/a/b.txt')).toString(), 'one\ntwo\nthree\n');
    await sbx.files.write('/work/a/b.txt', 'four\n', { append: true });
    assert.equal(
      await sbx.files.readText('/work/a/b.txt', { fromLine: 2, lines: 2 }),
      'two\nthree',
    );
    assert.equal(
      (await sbx.files.read('/work/a/b.txt', { offset: 4, length: 3 })).toString(),
      'two',
    );
    const st = await sbx.files.stat('/work/a/b.txt');
    assert.equal(st.type, 'file');
    assert.equal(st.size, 19);
    assert.equal(st.uid, 0, 'files written by the engine belong to the sandbox root');
    // And a process in the sandbox sees the same file.
    assert.equal((await sbx.exec('cat /work/a/b.txt | wc -l')).stdout.trim(), '4');
  });

  it('resolves relative paths against the sandbox cwd', async () => {
    await sbx.files.write('rel.txt', 'x');
    assert.equal((await sbx.exec('cat /root/rel.txt')).stdout, 'x');
  });

  it('lists directories recursively, directories before their children', async () => {
    await sbx.files.mkdir('/tree/x/y');
    await sbx.files.write('/tree/x/y/z.txt', 'z');
    await sbx.files.write('/tree/a.txt', 'a');
    const one = await sbx.files.list('/tree');
    assert.deepEqual(
      one.map((e) => [e.name, e.type]),
      [
        ['a.txt', 'file'],
        ['x', 'directory'],
      ],
    );
    const all = await sbx.files.list('/tree', { depth: 3 });
    assert.deepEqual(
      all.map((e) => e.path),
      ['/tree/a.txt', '/tree/x', '/tree/x/y', '/tree/x/y/z.txt'],
    );
  });

  it('renames and removes files and trees', async () => {
    await sbx.files.write('/mv/src.txt', 'm');
    await sbx.files.rename('/mv/src.txt', '/mv/dst.txt');
    assert.equal(await sbx.files.exists('/mv/src.txt'), false);
    assert.equal(await sbx.files.exists('/mv/dst.txt'), true);
    await assert.rejects(sbx.files.remove('/mv'), { code: 'directory_not_empty' });
    await sbx.files.remove('/mv', { recursive: true });
    assert.equal(await sbx.files.exists('/mv'), false);
  });

  it('streams uploads and downloads', async () => {
    const w = await sbx.files.createWriteStream('/big.bin');
    const chunk = Buffer.alloc(256 * 1024, 7);
    for (let i = 0; i < 16; i++) w.write(chunk);
    await new Promise<void>((resolve, reject) =>
      w.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
    let total = 0;
    for await (const c of sbx.files.createReadStream('/big.bin')) total += (c as Buffer).length;
    assert.equal(total, 16 * 256 * 1024);
  });

  it('gives typed errors for missing files, directories and bad paths', async () => {
    await assert.rejects(sbx.files.read('/nope'), { code: 'file_not_found' });
    await assert.rejects(sbx.files.read('/etc'), { code: 'is_a_directory' });
    await assert.rejects(sbx.files.read('/../etc/passwd'), { code: 'invalid_path' });
    await assert.rejects(sbx.files.read('../../../../etc/passwd'), { code: 'invalid_path' });
    await assert.rejects(sbx.files.read('/a\0b'), { code: 'invalid_path' });
    await assert.rejects(sbx.files.write('/.rt/run/x', 'y'), { code: 'invalid_path' });
    await assert.rejects(sbx.files.write('/etc/passwd/x', 'y'), { code: 'not_a_directory' });
  });

  it('never reaches a host file through a symlink', async () => {
    const hostShadow = readFileSync('/etc/hostname', 'utf8');
    await sbx.exec(
      'ln -sf /etc/hostname /root/link-abs; ln -sf ../../../../../../../../etc/hostname /root/link-rel; mkdir -p /root/d; ln -sfn / /root/d/up',
    );
    const sandboxHostname = (await sbx.exec('cat /etc/hostname 2>/dev/null || true')).stdout;
    for (const p of ['/root/link-abs', '/root/link-rel', '/root/d/up/etc/hostname']) {
      const content = (await sbx.files.read(p).catch(() => Buffer.from(''))).toString();
      assert.equal(content, sandboxHostname, `${p} must resolve inside the sandbox`);
      if (hostShadow !== sandboxHostname) assert.notEqual(content, hostShadow);
    }
    // Writing through a link changes the sandbox's file, never the host's.
    await sbx.files.write('/root/link-abs', 'changed-in-sandbox\n');
    assert.equal(readFileSync('/etc/hostname', 'utf8'), hostShadow);
    // /etc/shadow through a link is the sandbox's own (Debian's, with no host passwords).
    await sbx.exec('ln -sf /etc/shadow /root/shadow-link');
    const shadow = (await sbx.files.read('/root/shadow-link')).toString();
    assert.equal(shadow, readFileSync(`${sbx.data.rootfs}/etc/shadow`, 'utf8'));
    const st = await sbx.files.stat('/root/shadow-link', { followSymlinks: false });
    assert.equal(st.type, 'symlink');
    assert.equal(st.linkTarget, '/etc/shadow');
    // Removing a symlink removes the link, not its target.
    await sbx.files.remove('/root/shadow-link');
    assert.equal(await sbx.files.exists('/etc/shadow'), true);
  });
});
