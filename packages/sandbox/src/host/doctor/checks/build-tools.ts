import { join } from 'node:path';
import type { PrerequisiteCheck } from '../prerequisite-check.ts';
import { checkTool, run, withTempDir } from '../probe.ts';

export function checkMmdebstrap(searchPath: string): Promise<PrerequisiteCheck> {
  // No cheap probe: building even a minimal root takes ~10 s and network.
  return checkTool(
    {
      name: 'mmdebstrap',
      binary: 'mmdebstrap',
      versionArgs: ['--version'],
      parseVersion: (out) => /^mmdebstrap (\S+)/m.exec(out)?.[1],
    },
    searchPath,
  );
}

export function checkBuildah(searchPath: string): Promise<PrerequisiteCheck> {
  return checkTool(
    {
      name: 'buildah',
      binary: 'buildah',
      optional: true,
      versionArgs: ['--version'],
      parseVersion: (out) => /^buildah version (\S+)/m.exec(out)?.[1],
      probe: (path) =>
        withTempDir(async (dir) => {
          // Daemonless image storage in a throwaway directory, as template builds use it.
          const args = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run')];
          const result = await run(path, [...args, '--storage-driver', 'vfs', 'images', '--quiet']);
          return result.ok
            ? { works: true, detail: 'buildah images (vfs storage) works' }
            : { works: false, detail: `buildah images failed: ${result.error}` };
        }),
    },
    searchPath,
  );
}
