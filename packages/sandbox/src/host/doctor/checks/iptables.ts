import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveExecutable } from '../../criu.ts';
import type { PrerequisiteCheck } from '../prerequisite-check.ts';
import { checkTool, isRoot, NEEDS_ROOT, ROOT_FIX, run, withTempDir } from '../probe.ts';

export function checkIptables(searchPath: string): Promise<PrerequisiteCheck> {
  return checkTool(
    {
      name: 'iptables',
      binary: 'iptables',
      versionArgs: ['--version'],
      parseVersion: (out) => /^iptables v(\S+)/m.exec(out)?.[1],
      // CRIU's network lock for a container with its own network namespace runs
      // iptables-restore and ip6tables-restore from PATH inside it: do the same in a throwaway
      // namespace.
      probe: async () => {
        if (!isRoot()) return { works: false, detail: NEEDS_ROOT, fix: ROOT_FIX };
        const unshare = await resolveExecutable('unshare', searchPath);
        if (!unshare) return { works: false, detail: 'unshare (util-linux) is not on PATH' };
        return withTempDir(async (dir) => {
          const rules = join(dir, 'rules');
          await writeFile(rules, '*filter\n:RTDOCTOR - [0:0]\n-A RTDOCTOR -j DROP\nCOMMIT\n');
          const done: string[] = [];
          for (const [restore, list] of [
            ['iptables-restore', 'iptables'],
            ['ip6tables-restore', 'ip6tables'],
          ] as const) {
            const restorePath = await resolveExecutable(restore, searchPath);
            const listPath = await resolveExecutable(list, searchPath);
            if (!restorePath || !listPath)
              return { works: false, detail: `${restore} or ${list} is not on PATH` };
            // (No -w: `-w FILE` would take FILE as the wait time and read the rules from stdin.)
            const script = '"$1" "$2" && "$3" -S RTDOCTOR';
            const result = await run(unshare, [
              '--net',
              'sh',
              '-c',
              script,
              'sh',
              restorePath,
              rules,
              listPath,
            ]);
            if (!result.stdout.includes('-A RTDOCTOR -j DROP')) {
              return {
                works: false,
                detail: `${restore} in a new netns failed: ${result.error || 'rules not loaded'}`,
              };
            }
            done.push(restore);
          }
          return { works: true, detail: `${done.join(' and ')} work in a new network namespace` };
        });
      },
    },
    searchPath,
  );
}
