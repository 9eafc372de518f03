import {
  changelogFor,
  inspectRunc,
  parseRuncVersion,
  RUNC_ESCAPE_FIXES,
  type RuncInfo,
} from '../../runc.ts';
import type { PrerequisiteCheck } from '../prerequisite-check.ts';
import { checkTool, run } from '../probe.ts';

export function checkRunc(searchPath: string, binary: string): Promise<PrerequisiteCheck> {
  return checkTool(
    {
      name: 'runc',
      binary,
      versionArgs: ['--version'],
      parseVersion: parseRuncVersion,
      probe: async (path) => {
        const result = await run(path, ['features']);
        if (!result.ok) return { works: false, detail: `runc features failed: ${result.error}` };
        let oci: string;
        try {
          oci = (JSON.parse(result.stdout) as { ociVersionMax?: string }).ociVersionMax ?? '?';
        } catch {
          return { works: false, detail: 'runc features printed no JSON' };
        }
        // A runc that lacks an escape fix runs sandboxes, but a hostile image or process could
        // reach the host through it: that is a failed check, with setup's private runc as the fix.
        let info: RuncInfo;
        try {
          info = await inspectRunc(path, changelogFor(path));
        } catch (err) {
          return { works: false, detail: `cannot tell its version: ${(err as Error).message}` };
        }
        const all = RUNC_ESCAPE_FIXES.length;
        if (info.missing.length === 0) {
          return {
            works: true,
            detail: `runc features: OCI ${oci}; has all ${all} known escape fixes (${RUNC_ESCAPE_FIXES.map((f) => f.cve).join(', ')})`,
          };
        }
        return {
          works: false,
          detail: `lacks container-escape fixes: ${info.missing.map((f) => `${f.cve} (${f.summary})`).join('; ')}`,
        };
      },
    },
    searchPath,
  );
}
