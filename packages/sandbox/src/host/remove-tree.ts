import { readFile } from 'node:fs/promises';
import { runCommand } from './run-command.ts';

/**
 * Removes a directory tree that may still have file systems mounted inside it (a build root
 * with /proc and /sys, a sandbox with its overlay): unmounts everything below it, deepest first,
 * then deletes without ever crossing into another file system. A plain recursive delete would
 * walk into whatever is mounted there (a bind of the host's /dev, say) and delete the host's
 * files.
 */
export async function removeTree(path: string): Promise<void> {
  const prefix = path.endsWith('/') ? path : `${path}/`;
  for (let round = 0; round < 5; round++) {
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
      .split('\n')
      .map((l) => unescapeMount(l.split(' ')[4] ?? ''))
      .filter((p) => p === path || p.startsWith(prefix))
      .sort((a, b) => b.length - a.length);
    if (!mounts.length) break;
    for (const m of mounts) await runCommand('umount', ['-l', m]);
  }
  const r = await runCommand('rm', ['-rf', '--one-file-system', '--', path]);
  if (r.code !== 0) throw new Error(`could not remove ${path}: ${r.stderr.trim().slice(-500)}`);
}

function unescapeMount(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}
