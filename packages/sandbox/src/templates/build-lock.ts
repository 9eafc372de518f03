import { spawn } from 'node:child_process';
import { SandboxError } from '../errors.ts';

/** A held lock; disposing of it releases it. */
export interface HeldLock extends AsyncDisposable {
  release(): Promise<void>;
}

/**
 * Takes a `flock(1)` lock on `file`, shared (readers of a tree: copies, package checks) or
 * exclusive (the one process that builds or changes the tree). Node has no flock, so a small
 * `flock … cat` process holds it: the lock ends when its stdin closes, which the kernel also
 * does when this process dies, so a crashed server never leaves a lock behind. Several servers
 * and test files sharing a templates dir wait for each other here.
 */
export function acquireLock(
  file: string,
  mode: 'shared' | 'exclusive',
  signal?: AbortSignal,
): Promise<HeldLock> {
  signal?.throwIfAborted();
  const child = spawn(
    'flock',
    [mode === 'shared' ? '--shared' : '--exclusive', file, 'sh', '-c', 'echo locked; exec cat'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const release = async () => {
    child.stdin.end();
    await exited;
  };
  return new Promise<HeldLock>((resolve, reject) => {
    let stderr = '';
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (!d.includes('locked')) return;
      signal?.removeEventListener('abort', onAbort);
      resolve({ release, [Symbol.asyncDispose]: release });
    });
    child.once('error', reject);
    void exited.then(() => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(signal.reason);
      else
        reject(
          new SandboxError('host_prerequisite', `Could not lock ${file}: ${stderr.trim()}`, {
            details: { file },
          }),
        );
    });
  });
}
