import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveExecutable } from '../../criu.ts';
import { type PrerequisiteCheck, SETUP_FIX } from '../prerequisite-check.ts';
import { isRoot, NEEDS_ROOT, ROOT_FIX, run, withTempDir } from '../probe.ts';

export async function checkOverlayfs(searchPath: string): Promise<PrerequisiteCheck> {
  const base = { name: 'overlayfs', version: release() };
  const filesystems = await readFile('/proc/filesystems', 'utf8').catch(() => '');
  if (!/\boverlay$/m.test(filesystems)) {
    return {
      ...base,
      found: false,
      works: false,
      detail: 'overlay is not in /proc/filesystems',
      fix: 'modprobe overlay (or use a kernel with CONFIG_OVERLAY_FS)',
    };
  }
  if (!isRoot()) return { ...base, found: true, works: false, detail: NEEDS_ROOT, fix: ROOT_FIX };
  const unshare = await resolveExecutable('unshare', searchPath);
  if (!unshare) {
    return { ...base, found: true, works: false, detail: 'unshare is not on PATH', fix: SETUP_FIX };
  }
  // Mount an overlay in a private mount namespace (gone when the command exits) and read a
  // lower-layer file through it.
  return withTempDir(async (dir) => {
    for (const sub of ['lower', 'upper', 'work', 'merged']) await mkdir(join(dir, sub));
    await writeFile(join(dir, 'lower', 'probe'), 'overlay-ok\n');
    const options = `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work`;
    const script = 'mount -t overlay overlay -o "$1" "$2" && cat "$2/probe"';
    const result = await run(unshare, [
      '--mount',
      'sh',
      '-c',
      script,
      'sh',
      options,
      `${dir}/merged`,
    ]);
    const works = result.ok && result.stdout.includes('overlay-ok');
    return {
      ...base,
      found: true,
      works,
      detail: works
        ? `an overlay mount in ${tmpdir()} works`
        : `mounting an overlay in ${tmpdir()} failed: ${result.error}`,
      ...(works
        ? {}
        : { fix: 'modprobe overlay; sandboxes need overlayfs on their data directory' }),
    };
  });
}
