import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RuntimeError } from '../errors.ts';

/**
 * Runs `fn` holding an exclusive `flock(2)` on `path`, shared by every process on the host (other
 * engines included). Node has no flock, so a `flock` child holds it: it takes the lock, says so,
 * and keeps it until its stdin closes, which is when `fn` settles or when this process dies (the
 * kernel drops the lock with the holder). Not for hot paths: it costs a process start (~5 ms).
 *
 * @example
 * await withFileLock('/run/runtools/netfilter.lock', () => addChains());
 */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  { timeoutSeconds = 60 } = {},
): Promise<T> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const holder = spawn(
    'flock',
    ['-w', String(timeoutSeconds), path, 'sh', '-c', 'echo locked; exec cat >/dev/null'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  holder.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  await new Promise<void>((resolve, reject) => {
    holder.once('error', reject);
    holder.stdout.once('data', () => resolve());
    holder.once('close', (code) =>
      reject(new RuntimeError(`taking the host lock ${path}`, stderr || `flock exited ${code}`)),
    );
  });
  try {
    return await fn();
  } finally {
    const done = new Promise((resolve) => holder.once('close', resolve));
    holder.stdin.end();
    await done;
  }
}
