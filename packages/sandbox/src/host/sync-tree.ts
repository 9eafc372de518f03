import { open, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Makes a directory tree durable: fsync of every file and directory in it, then of its parent
 * (which holds its entry). Per file rather than `syncfs`, which would also wait for everything
 * else that is dirty on the host's file system.
 */
export async function syncTree(root: string): Promise<void> {
  const entries = await readdir(root, { withFileTypes: true, recursive: true });
  const paths = entries
    .filter((e) => e.isFile() || e.isDirectory())
    .map((e) => join(e.parentPath, e.name));
  await Promise.all([...paths, root, dirname(root)].map(syncPath));
}

/** fsync of one file or directory (a directory is opened read-only, which fsync accepts). */
export async function syncPath(path: string): Promise<void> {
  const f = await open(path, 'r');
  try {
    await f.sync();
  } finally {
    await f.close();
  }
}
