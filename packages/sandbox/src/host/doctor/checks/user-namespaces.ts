import { readFile } from 'node:fs/promises';
import { resolveExecutable } from '../../criu.ts';
import type { PrerequisiteCheck } from '../prerequisite-check.ts';
import { run } from '../probe.ts';

export async function checkUserNamespaces(searchPath: string): Promise<PrerequisiteCheck> {
  const fix = 'sysctl -w user.max_user_namespaces=65536 (and persist it in /etc/sysctl.d/)';
  const raw = await readFile('/proc/sys/user/max_user_namespaces', 'utf8').catch(() => '');
  const max = Number.parseInt(raw, 10);
  if (!(max > 0)) {
    return {
      name: 'user namespaces',
      found: false,
      works: false,
      detail: raw
        ? `/proc/sys/user/max_user_namespaces is ${raw.trim()}`
        : 'the kernel has no user namespaces',
      fix,
    };
  }
  const unshare = await resolveExecutable('unshare', searchPath);
  const result = unshare
    ? await run(unshare, ['--user', '--map-root-user', 'id', '-u'])
    : { ok: false, stdout: '', stderr: '', error: 'unshare is not on PATH' };
  const works = result.ok && result.stdout.trim() === '0';
  return {
    name: 'user namespaces',
    found: true,
    works,
    detail: `max_user_namespaces ${max}; ${works ? 'unshare --user --map-root-user works' : `unshare --user failed: ${result.error}`}`,
    ...(works ? {} : { fix }),
  };
}
