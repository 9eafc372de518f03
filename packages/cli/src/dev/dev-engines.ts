import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxEngine, SandboxError } from '@runtools/sandbox';

/** The file in a dev engine directory that names the project it belongs to. */
const OWNER_FILE = 'project.json';

/** Records which project an engine directory belongs to, so `sandbox prune` can tell. */
export function writeEngineOwner(engineDataDir: string, root: string): void {
  writeFileSync(join(engineDataDir, OWNER_FILE), `${JSON.stringify({ root }, null, 2)}\n`);
}

export interface DevEngineDir {
  dir: string;
  /** The project folder it belongs to; undefined when the directory does not say. */
  project?: string;
  /** The project folder is still there. */
  projectExists: boolean;
}

/** Every engine directory under `rootDir` (`runtools dev` makes one per project). */
export function listDevEngines(rootDir: string): DevEngineDir[] {
  let names: string[];
  try {
    names = readdirSync(rootDir);
  } catch {
    return [];
  }
  return names.sort().map((name) => {
    const dir = join(rootDir, name);
    let project: string | undefined;
    try {
      const owner = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as { root?: unknown };
      if (typeof owner.root === 'string') project = owner.root;
    } catch {
      // made before the owner file existed, or not an engine directory
    }
    return {
      dir,
      ...(project ? { project } : {}),
      projectExists: !!project && existsSync(project),
    };
  });
}

export interface PruneOutcome {
  dir: string;
  project?: string;
  /** removed: the sandboxes and the directory are gone; kept: it was not touched. */
  action: 'removed' | 'would remove' | 'kept';
  sandboxes: number;
  reason: string;
}

/**
 * Removes the engine directories of projects that no longer exist: every sandbox in them is
 * deleted through the engine (processes, mounts, network), then the directory. A directory whose
 * project is there, that names no project, or whose engine a live process holds is kept.
 */
export async function pruneDevEngines(
  rootDir: string,
  options: { dryRun?: boolean } = {},
): Promise<PruneOutcome[]> {
  const outcomes: PruneOutcome[] = [];
  for (const entry of listDevEngines(rootDir)) {
    const base = { dir: entry.dir, ...(entry.project ? { project: entry.project } : {}) };
    if (!entry.project) {
      outcomes.push({ ...base, action: 'kept', sandboxes: 0, reason: 'it names no project' });
      continue;
    }
    if (entry.projectExists) {
      outcomes.push({ ...base, action: 'kept', sandboxes: 0, reason: 'the project is there' });
      continue;
    }
    let engine: SandboxEngine;
    try {
      engine = await SandboxEngine.open({ dataDir: entry.dir });
    } catch (error) {
      const reason =
        error instanceof SandboxError && error.code === 'engine_locked'
          ? `a running process uses it (${error.message})`
          : `its engine does not open: ${(error as Error).message}`;
      outcomes.push({ ...base, action: 'kept', sandboxes: 0, reason });
      continue;
    }
    const sandboxes = engine.list();
    if (options.dryRun) {
      await engine.close();
      outcomes.push({
        ...base,
        action: 'would remove',
        sandboxes: sandboxes.length,
        reason: 'the project is gone',
      });
      continue;
    }
    try {
      for (const s of sandboxes) await engine.delete(s.id);
    } finally {
      await engine.close();
    }
    if (mountsBelow(entry.dir).length > 0) {
      outcomes.push({
        ...base,
        action: 'kept',
        sandboxes: sandboxes.length,
        reason: `mounts are left below it: ${mountsBelow(entry.dir).join(', ')}`,
      });
      continue;
    }
    rmSync(entry.dir, { recursive: true, force: true });
    outcomes.push({
      ...base,
      action: 'removed',
      sandboxes: sandboxes.length,
      reason: 'the project is gone',
    });
  }
  return outcomes;
}

function mountsBelow(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}
