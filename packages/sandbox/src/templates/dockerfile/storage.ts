import { createHash } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { HostPrerequisiteError, SandboxError } from '../../errors.ts';
import { type CommandResult, type RunCommandOptions, runCommand } from '../../host/run-command.ts';
import { abortable } from './build.ts';
import { STORAGE_TIMEOUT_MS } from './limits.ts';

/** buildah storage: its root, the lock per root, what a build left behind. */

/** Global flags of every buildah call on the storage `root` (also for tests and cleanup). */
export function buildahGlobalArgs(root: string): string[] {
  return ['--root', root, '--runroot', buildahRunRoot(root), '--storage-driver', 'vfs'];
}

/**
 * buildah's state directory for `root`: per root (roots sharing one corrupt each other's mount
 * bookkeeping), under /run (it must not outlive a reboot).
 */
export function buildahRunRoot(root: string): string {
  const id = createHash('sha256').update(resolve(root)).digest('hex').slice(0, 16);
  return join('/run/runtools-buildah', id);
}

export interface Snapshot {
  containers: Set<string>;
  images: Set<string>;
}

export type Buildah = (args: string[], opts?: RunCommandOptions) => Promise<CommandResult>;

export async function listContainers(bx: Buildah): Promise<string[]> {
  const r = await check(bx(['containers', '--all', '--json']), 'buildah containers');
  const list = (JSON.parse(r.stdout || 'null') ?? []) as Array<{ id: string }>;
  return list.map((c) => c.id);
}

export async function listImages(
  bx: Buildah,
): Promise<Array<{ id: string; names?: string[] | null }>> {
  const r = await check(bx(['images', '--all', '--json', '--no-trunc']), 'buildah images');
  return (JSON.parse(r.stdout || 'null') ?? []) as Array<{ id: string; names?: string[] | null }>;
}

export async function snapshot(bx: Buildah): Promise<Snapshot> {
  return {
    containers: new Set(await listContainers(bx)),
    images: new Set((await listImages(bx)).map((i) => normalizeId(i.id))),
  };
}

/** Removes the containers and images that appeared since `before`, but not the cached bases. */
export async function removeLeftovers(
  bx: Buildah,
  before: Snapshot,
  keep: Set<string>,
): Promise<void> {
  for (const id of await listContainers(bx)) {
    if (!before.containers.has(id)) await bx(['rm', id], { timeoutMs: STORAGE_TIMEOUT_MS });
  }
  const kept = new Set([...keep].map(normalizeId));
  for (const img of await listImages(bx)) {
    const id = normalizeId(img.id);
    if (!before.images.has(id) && !kept.has(id)) {
      await bx(['rmi', '--force', id], { timeoutMs: STORAGE_TIMEOUT_MS });
    }
  }
}

export function normalizeId(id: string): string {
  return id.replace(/^sha256:/, '');
}

export const rootLocks = new Map<string, Promise<void>>();

/** Runs `fn` after the other builds on the same buildah root in this process. */
export async function withRootLock<T>(
  root: string,
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  const previous = rootLocks.get(root) ?? Promise.resolve();
  let release = () => {};
  const mine = new Promise<void>((r) => {
    release = r;
  });
  rootLocks.set(root, mine);
  try {
    await abortable(previous, signal);
  } catch (err) {
    void previous.then(release);
    throw err;
  }
  try {
    return await fn();
  } finally {
    release();
    if (rootLocks.get(root) === mine) rootLocks.delete(root);
  }
}

export let buildahChecked: Promise<void> | undefined;

export function assertBuildah(): Promise<void> {
  buildahChecked ??= runCommand('buildah', ['--version'], { timeoutMs: 30_000 }).then(
    (r) => {
      if (r.code !== 0) throw new Error(r.stdout || r.stderr);
    },
    (err: unknown) => {
      buildahChecked = undefined;
      throw new HostPrerequisiteError(
        'buildah is not installed (it builds Dockerfile templates)',
        'apt-get install buildah',
        err,
      );
    },
  );
  return buildahChecked;
}

export async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

// ---------------------------------------------------------------------------------------------
// Processes

/** The result of a helper command that must succeed; its failure is a `template_build_failed`. */
export async function check(
  p: Promise<CommandResult>,
  what: string,
  signal?: AbortSignal,
): Promise<CommandResult> {
  const r = await p;
  if (r.code === 0) return r;
  if (r.aborted) {
    signal?.throwIfAborted();
    throw new DOMException('This operation was aborted', 'AbortError');
  }
  throw new SandboxError(
    'template_build_failed',
    `${what} failed${r.timedOut ? ' (timed out)' : ''}: ${`${r.stderr}\n${r.stdout}`.trim().slice(-2000)}`,
    { details: { step: what, output: `${r.stdout}\n${r.stderr}`.slice(-8000) } },
  );
}
