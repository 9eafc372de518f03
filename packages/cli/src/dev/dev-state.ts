import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `.runtools/dev.json` of a project while `runtools dev` serves it: how other commands run in the
 * project (`runtools run`, `logs`, …) find that server. Mode 0600: it holds the API key.
 */
export interface DevState {
  url: string;
  apiKey: string;
  pid: number;
}

/** The file's path for a project root. */
export function devStatePath(root: string): string {
  return join(root, '.runtools', 'dev.json');
}

export function writeDevState(root: string, state: DevState): void {
  mkdirSync(join(root, '.runtools'), { recursive: true });
  writeFileSync(devStatePath(root), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** The state of a `runtools dev` that is still running for this project, if any. */
export function readLiveDevState(root: string): DevState | undefined {
  let state: DevState;
  try {
    state = JSON.parse(readFileSync(devStatePath(root), 'utf8')) as DevState;
  } catch {
    return undefined;
  }
  if (!Number.isInteger(state.pid)) return undefined;
  try {
    process.kill(state.pid, 0);
    return state;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? state : undefined;
  }
}

/** Removes the file if it is this process's (`pid`). */
export function removeDevState(root: string, pid: number): void {
  try {
    const state = JSON.parse(readFileSync(devStatePath(root), 'utf8')) as DevState;
    if (state.pid !== pid) return;
  } catch {
    return;
  }
  rmSync(devStatePath(root), { force: true });
}
