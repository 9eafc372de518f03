import { open } from 'node:fs/promises';
import { resolveExecutable } from '../../criu.ts';
import { type PrerequisiteCheck, SETUP_FIX } from '../prerequisite-check.ts';
import { run } from '../probe.ts';

export async function checkUidmap(searchPath: string): Promise<PrerequisiteCheck> {
  const base = { name: 'uidmap', optional: true };
  const [uid, gid] = await Promise.all([
    resolveExecutable('newuidmap', searchPath),
    resolveExecutable('newgidmap', searchPath),
  ]);
  if (!uid || !gid) {
    const missing = [uid ? '' : 'newuidmap', gid ? '' : 'newgidmap'].filter((s) => s).join(' and ');
    return {
      ...base,
      found: false,
      works: false,
      detail: `${missing} not on PATH`,
      fix: SETUP_FIX,
    };
  }
  // newuidmap has no version option; the Debian package has the version.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format syntax, not JS
  const dpkg = await run('dpkg-query', ['-W', '-f=${Version}', 'uidmap']);
  const version = dpkg.ok ? dpkg.stdout.trim() : undefined;
  // They only work as setuid root (for rootless user namespaces, e.g. rootless buildah).
  const notSetuid: string[] = [];
  for (const path of [uid, gid]) {
    const handle = await open(path, 'r');
    try {
      const st = await handle.stat();
      if (st.uid !== 0 || (st.mode & 0o4000) === 0) notSetuid.push(path);
    } finally {
      await handle.close();
    }
  }
  const works = notSetuid.length === 0;
  return {
    ...base,
    found: true,
    ...(version ? { version } : {}),
    works,
    detail: works ? `${uid}, ${gid} (setuid root)` : `not setuid root: ${notSetuid.join(', ')}`,
    ...(works ? {} : { fix: 'apt-get install --reinstall uidmap' }),
  };
}
