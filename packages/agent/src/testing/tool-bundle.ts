import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

/** This checkout's packages: what a test agent file imports (`@runtools/sdk`, `zod`). */
const workspaceModules = resolve(import.meta.dirname, '../../../../node_modules');

/**
 * Bundles the source of an agent file (TypeScript that imports `@runtools/sdk` and `zod`) the
 * way `runtools dev` does, for the tests and benchmarks of this package (esbuild is only a
 * development dependency here: the CLI bundles real projects).
 */
export async function bundleAgentSource(
  source: string,
): Promise<{ code: Uint8Array; sha256: string }> {
  const dir = mkdtempSync('/var/tmp/rt-tool-bundle-');
  try {
    writeFileSync(join(dir, 'agent.ts'), source);
    const result = await build({
      entryPoints: [join(dir, 'agent.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      write: false,
      outfile: 'bundle.mjs',
      logLevel: 'silent',
      nodePaths: [workspaceModules],
      conditions: ['@runtools/source'],
    });
    const code = result.outputFiles[0]?.contents ?? new Uint8Array();
    return { code, sha256: createHash('sha256').update(code).digest('hex') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
