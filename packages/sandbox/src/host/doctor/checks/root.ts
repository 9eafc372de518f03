import { readFile } from 'node:fs/promises';
import type { PrerequisiteCheck } from '../prerequisite-check.ts';
import { ROOT_FIX } from '../probe.ts';

export async function checkRoot(): Promise<PrerequisiteCheck> {
  const status = await readFile('/proc/self/status', 'utf8').catch(() => '');
  const capEff = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1];
  const caps = capEff ? BigInt(`0x${capEff}`) : 0n;
  const has = (bit: bigint) => (caps & (1n << bit)) !== 0n;
  const uid = process.getuid?.();
  const root = uid === 0;
  const sysAdmin = has(21n);
  const works = root && sysAdmin;
  return {
    name: 'root',
    found: root,
    works,
    detail: `uid ${uid ?? '?'}, CapEff ${capEff ?? '?'}: CAP_SYS_ADMIN ${sysAdmin ? 'yes' : 'no'}, CAP_SYS_RESOURCE ${has(24n) ? 'yes' : 'no (CRIU logs a harmless RLIMIT_NOFILE error)'}`,
    ...(works ? {} : { fix: ROOT_FIX }),
  };
}
