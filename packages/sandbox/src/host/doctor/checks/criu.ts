import { probeCriuCandidates } from '../../criu.ts';
import { type PrerequisiteCheck, SETUP_FIX } from '../prerequisite-check.ts';
import { isRoot } from '../probe.ts';

export async function checkCriu(
  searchPath: string,
  candidates: readonly string[] | undefined,
): Promise<PrerequisiteCheck> {
  const probes = await probeCriuCandidates({
    searchPath,
    ...(candidates === undefined ? {} : { candidates }),
  });
  const working = probes.find((probe) => probe.works);
  if (working?.path) {
    const skipped = probes
      .filter((probe) => probe !== working && probe.found)
      .map((probe) => `${probe.path}: ${probe.problem}`);
    return {
      name: 'criu',
      found: true,
      ...(working.version === undefined ? {} : { version: working.version }),
      works: true,
      detail: [
        `${working.path}; criu check: "${working.check}"`,
        ...skipped.map((s) => `skipped ${s}`),
      ].join('; '),
    };
  }
  const found = probes.filter((probe) => probe.found);
  const shown = found.at(-1) ?? probes.at(-1);
  const tried = probes.map((probe) => probe.path ?? probe.candidate).join(', ');
  return {
    name: 'criu',
    found: found.length > 0,
    ...(shown?.version === undefined ? {} : { version: shown.version }),
    works: false,
    detail:
      found.length > 0
        ? `no working CRIU >= 4.2 (tried ${tried}): ${found.map((p) => `${p.path}: ${p.problem}`).join('; ')}${isRoot() ? '' : ' (criu check needs root)'}`
        : `no CRIU found (tried ${tried || 'nothing'})`,
    fix: SETUP_FIX,
  };
}
