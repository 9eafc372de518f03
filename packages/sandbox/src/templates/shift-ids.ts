import { chmod, lchown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Shifts every owner in a root filesystem by `base` (0 -> base, 1000 -> base + 1000, ...) so the
 * tree is owned by the sandbox's user namespace: sandbox root is host uid `base`. Done once per
 * template; sandboxes then share the shifted tree read-only. chown clears set-uid/set-gid bits,
 * so they are put back.
 */
export async function shiftIds(root: string, base: number): Promise<number> {
  let count = 0;
  const visit = async (path: string): Promise<void> => {
    const st = await lstat(path);
    if (st.uid < base) {
      await lchown(path, st.uid + base, st.gid + base);
      if (!st.isSymbolicLink() && st.mode & 0o6000) await chmod(path, st.mode & 0o7777);
    }
    count++;
    if (st.isDirectory()) {
      const names = await readdir(path);
      // Bounded parallelism: a root holds tens of thousands of entries.
      for (let i = 0; i < names.length; i += 64) {
        await Promise.all(names.slice(i, i + 64).map((n) => visit(join(path, n))));
      }
    }
  };
  await visit(root);
  return count;
}
