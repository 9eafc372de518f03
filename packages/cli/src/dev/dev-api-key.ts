import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The API key `runtools dev` uses when RUNTOOLS_API_KEY is not set: generated once per project and
 * kept in `.runtools/dev-api-key` (0600, git-ignored with the folder), so a restart keeps the
 * curl lines and clients that worked before it.
 */
export function devApiKey(root: string): { key: string; created: boolean } {
  const file = join(root, '.runtools', 'dev-api-key');
  try {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept.length >= 16) return { key: kept, created: false };
  } catch {
    // Not made yet.
  }
  const key = `rt_dev_${randomBytes(24).toString('base64url')}`;
  mkdirSync(join(root, '.runtools'), { recursive: true });
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { key, created: true };
}
