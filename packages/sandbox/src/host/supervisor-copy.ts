import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Copies the supervisor binary (rt-init) into `<dataDir>/bin/rt-init-<hash>` and returns that
 * path, which sandboxes bind-mount. Restoring a checkpoint opens every mount source from inside
 * the sandbox's user namespace, as an unprivileged uid: a binary below a private directory (a
 * checkout in /root, or any 0700 parent) would make every resume fail with "Permission denied".
 * The copy is named by its content, so a rebuilt binary never changes the file that running and
 * paused sandboxes were started with (CRIU refuses to restore a changed executable).
 */
export async function copySupervisor(dataDir: string, source: string): Promise<string> {
  const bytes = await readFile(source);
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const dir = join(dataDir, 'bin');
  const target = join(dir, `rt-init-${hash}`);
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  if (await stat(target).catch(() => null)) return target;
  const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await copyFile(source, tmp);
  await chmod(tmp, 0o755);
  await rename(tmp, target);
  return target;
}
