import { mkdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PrerequisiteCheck } from '../prerequisite-check.ts';
import { isRoot, NEEDS_ROOT, ROOT_FIX, uniqueName } from '../probe.ts';

/** `fstype superoptions mountpoint` of every cgroup mount in /proc/self/mountinfo. */
function cgroupMounts(
  mountinfo: string,
): { type: string; options: string[]; mountPoint: string }[] {
  const mounts = [];
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    const type = fields[dash + 1];
    if (dash < 0 || (type !== 'cgroup' && type !== 'cgroup2')) continue;
    mounts.push({
      type,
      options: (fields[dash + 3] ?? '').split(','),
      mountPoint: (fields[4] ?? '').replace(/\\040/g, ' '),
    });
  }
  return mounts;
}

export async function checkCgroups(): Promise<PrerequisiteCheck> {
  const fix =
    'mount the cgroup v1 controllers memory, pids, cpu, freezer (or boot with systemd.unified_cgroup_hierarchy=1 for v2)';
  const mounts = cgroupMounts(await readFile('/proc/self/mountinfo', 'utf8').catch(() => ''));
  const v2Root = mounts.find((m) => m.type === 'cgroup2' && m.mountPoint === '/sys/fs/cgroup');
  let version: string;
  let probeDirs: string[];
  let found: string;
  if (v2Root) {
    const controllers = (
      await readFile('/sys/fs/cgroup/cgroup.controllers', 'utf8').catch(() => '')
    ).split(/\s+/);
    const missing = ['memory', 'pids', 'cpu'].filter((c) => !controllers.includes(c));
    if (missing.length > 0) {
      return {
        name: 'cgroups',
        found: false,
        version: 'v2',
        works: false,
        detail: `cgroup v2 without the ${missing.join(', ')} controller(s)`,
        fix: 'enable the memory, pids and cpu controllers (kernel config / boot parameters)',
      };
    }
    version = 'v2';
    probeDirs = ['/sys/fs/cgroup'];
    found = `cgroup v2 at /sys/fs/cgroup (${controllers.filter((c) => c).join(' ')})`;
  } else {
    const wanted = ['memory', 'pids', 'cpu', 'freezer'];
    const at = new Map<string, string>();
    // The system's hierarchy, not another mount of it: a CRIU restore in progress mounts every
    // controller again in a temporary "cgroup yard", gone a moment later.
    const system = (path: string) => path.startsWith('/sys/fs/cgroup/');
    for (const m of mounts) {
      for (const c of wanted) {
        if (m.type !== 'cgroup' || !m.options.includes(c)) continue;
        const seen = at.get(c);
        if (seen === undefined || (!system(seen) && system(m.mountPoint))) at.set(c, m.mountPoint);
      }
    }
    const missing = wanted.filter((c) => !at.has(c));
    if (missing.length > 0) {
      return {
        name: 'cgroups',
        found: false,
        works: false,
        detail:
          mounts.length === 0
            ? 'no cgroup file system is mounted'
            : `cgroup v1 controllers not mounted: ${missing.join(', ')}`,
        fix,
      };
    }
    version = mounts.some((m) => m.type === 'cgroup2') ? 'v1 (hybrid)' : 'v1';
    probeDirs = [...new Set(at.values())];
    found = `cgroup v1: ${wanted.map((c) => `${c} at ${at.get(c)}`).join(', ')}`;
  }
  if (!isRoot()) {
    return {
      name: 'cgroups',
      found: true,
      version,
      works: false,
      detail: `${found}; ${NEEDS_ROOT}`,
      fix: ROOT_FIX,
    };
  }
  // Create and remove a child group in each hierarchy, as runc does for every container.
  const name = uniqueName();
  for (const dir of probeDirs) {
    try {
      await mkdir(join(dir, name));
      await rmdir(join(dir, name));
    } catch (err) {
      return {
        name: 'cgroups',
        found: true,
        version,
        works: false,
        detail: `${found}; cannot create a cgroup in ${dir}: ${(err as Error).message}`,
        fix,
      };
    }
  }
  return {
    name: 'cgroups',
    found: true,
    version,
    works: true,
    detail: `${found}; creating a cgroup works`,
  };
}
