import type { PrerequisiteCheck } from '../prerequisite-check.ts';
import { checkTool, isRoot, NEEDS_ROOT, ROOT_FIX, run, uniqueName } from '../probe.ts';

export function checkIproute2(searchPath: string): Promise<PrerequisiteCheck> {
  return checkTool(
    {
      name: 'iproute2',
      binary: 'ip',
      versionArgs: ['-V'],
      parseVersion: (out) => /iproute2-([\w.]+)/.exec(out)?.[1],
      probe: async (path) => {
        if (!isRoot()) return { works: false, detail: NEEDS_ROOT, fix: ROOT_FIX };
        const ns = uniqueName();
        const added = await run(path, ['netns', 'add', ns]);
        if (!added.ok) return { works: false, detail: `ip netns add failed: ${added.error}` };
        try {
          const exec = await run(path, ['netns', 'exec', ns, path, 'link', 'show', 'lo']);
          return exec.ok
            ? { works: true, detail: 'ip netns add/exec/del works' }
            : { works: false, detail: `ip netns exec failed: ${exec.error}` };
        } finally {
          await run(path, ['netns', 'del', ns]);
        }
      },
    },
    searchPath,
  );
}
