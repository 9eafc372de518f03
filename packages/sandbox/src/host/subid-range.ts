import { readFile } from 'node:fs/promises';
import { SandboxError } from '../errors.ts';

/** The user that `scripts/setup.sh` gives the sandboxes' host id range to. */
export const SUBID_OWNER = 'runtools';

/** Where the host's subordinate id ranges are declared (shadow-utils' files). */
export interface SubordinateIdFiles {
  uid: string;
  gid: string;
}

export const DEFAULT_SUBID_FILES: SubordinateIdFiles = { uid: '/etc/subuid', gid: '/etc/subgid' };

export interface SubidEntry {
  owner: string;
  start: number;
  count: number;
  line: number;
}

/** Parses `/etc/subuid` lines (`owner:start:count`); comments and malformed lines are skipped. */
export function parseSubids(text: string): SubidEntry[] {
  const entries: SubidEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const m = /^([^:#\s][^:]*):(\d+):(\d+)$/.exec(raw.trim());
    if (m)
      entries.push({
        owner: m[1] as string,
        start: Number(m[2]),
        count: Number(m[3]),
        line: i + 1,
      });
  });
  return entries;
}

/**
 * Refuses a host id range that the host also gives to another user: that user's rootless
 * containers (podman, buildah, LXC) would run as the same host uids as RunTools' sandboxes and
 * could read and write their files. `scripts/setup.sh` reserves the range for `runtools`.
 */
export async function assertIdRangeReserved(
  range: { hostId: number; size: number },
  files: SubordinateIdFiles = DEFAULT_SUBID_FILES,
): Promise<void> {
  const end = range.hostId + range.size;
  for (const [kind, path] of [
    ['uid', files.uid],
    ['gid', files.gid],
  ] as const) {
    const text = await readFile(path, 'utf8').catch(() => '');
    const clash = parseSubids(text).find(
      (e) => e.owner !== SUBID_OWNER && e.start < end && range.hostId < e.start + e.count,
    );
    if (clash) {
      const last = clash.start + clash.count - 1;
      throw new SandboxError(
        'id_range_conflict',
        `Sandboxes run as host ${kind}s ${range.hostId}-${end - 1}, but ${path} (line ${clash.line}) also gives ${kind}s ${clash.start}-${last} to "${clash.owner}", whose containers could then reach sandbox files. Fix: give "${clash.owner}" a range that does not overlap in /etc/subuid and /etc/subgid (e.g. usermod --del-subuids ${clash.start}-${last} --add-subuids 200000-265535 ${clash.owner}, and the same for gids), then run bash scripts/setup.sh, which reserves ${range.hostId}:${range.size} for "${SUBID_OWNER}"; or open the engine with another idMap.`,
        {
          details: {
            file: path,
            owner: clash.owner,
            start: clash.start,
            count: clash.count,
            range: { ...range },
          },
        },
      );
    }
  }
}
