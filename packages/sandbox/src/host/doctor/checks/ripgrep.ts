import type { PrerequisiteCheck } from '../prerequisite-check.ts';
import { checkTool, run } from '../probe.ts';

export function checkRipgrep(searchPath: string): Promise<PrerequisiteCheck> {
  return checkTool(
    {
      name: 'ripgrep',
      binary: 'rg',
      optional: true,
      versionArgs: ['--version'],
      parseVersion: (out) => /^ripgrep (\S+)/m.exec(out)?.[1],
      probe: async (path) => {
        // Searches this very file for a string it contains: ripgrep probe.
        const result = await run(path, [
          '--quiet',
          '--fixed-strings',
          'ripgrep probe',
          import.meta.filename,
        ]);
        return result.ok
          ? { works: true, detail: 'rg finds a string in a file' }
          : { works: false, detail: `rg search failed: ${result.error || 'no match'}` };
      },
    },
    searchPath,
  );
}
