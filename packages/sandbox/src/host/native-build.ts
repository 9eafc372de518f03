import { findPackageJSON } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Where this package's native parts are built (`native/build.sh`): the same folder whether the
 * engine runs from its TypeScript sources (in the repository) or from `dist/` (installed from
 * npm, which ships them prebuilt for x86-64 Linux).
 */
export const NATIVE_DIR = join(
  dirname(
    findPackageJSON(import.meta.url) ?? join(import.meta.dirname, '..', '..', 'package.json'),
  ),
  'native',
);

/** rt-init, the supervisor bind-mounted into every sandbox as its pid 1. */
export const SUPERVISOR_BINARY = join(NATIVE_DIR, 'build', 'rt-init');

/** The engine's SO_PEERCRED addon. */
export const PEER_CRED_ADDON = join(NATIVE_DIR, 'build', 'peer-cred.node');

/** What to run when either is missing: builds both (gcc and a static libc: libc6-dev). */
export const NATIVE_BUILD_FIX = `sh ${join(NATIVE_DIR, 'build.sh')} (needs gcc and libc6-dev: apt install gcc libc6-dev; in the repository, npm run build:native or setup.sh)`;
