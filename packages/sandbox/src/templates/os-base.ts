import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { templateBuildStepMark } from '@runtools/sdk/api';
import { SandboxError } from '../errors.ts';
import { removeTree } from '../host/remove-tree.ts';
import { runCommand } from '../host/run-command.ts';
import { hostDebianMirror } from './apt-mirror.ts';
import { APT_OPTIONS, DPKG_EXCLUDES, runInChroot, withBuildChroot } from './build-chroot.ts';
import { acquireLock } from './build-lock.ts';
import { BASE_PACKAGES, OPERATING_SYSTEMS, type OperatingSystem } from './template-spec.ts';

/** Starts the log line of each build step (the API's progress contract). */
export const STEP_MARK = templateBuildStepMark;
const UBUNTU_MIRROR = 'http://archive.ubuntu.com/ubuntu';
const UBUNTU_KEYRING = '/usr/share/keyrings/ubuntu-archive-keyring.gpg';
/** Package lists older than this are refreshed before packages are installed from them. */
const LISTS_MAX_AGE_MS = 6 * 3600_000;

/**
 * The root every spec template of one OS starts from: mmdebstrap's minbase plus BASE_PACKAGES,
 * with apt's package lists kept. Built once per templates dir (`<dir>/.bases/<os>-<hash>/`, the
 * hash of what defines it), then copied by each build, which installs only what its spec adds.
 */
export interface OsBase {
  os: OperatingSystem;
  mirror: string;
  /** `<os>-<hash>`: a changed mirror or package set is another base. */
  name: string;
  dir: string;
  rootfs: string;
  /** Certificate authorities the host added, trusted in the base (and so in every template). */
  extraCas: string[];
}

export interface OsBaseLog {
  /** Every log line; step marks start with STEP_MARK. */
  onLine: (line: string) => void;
  signal?: AbortSignal;
}

/** Where the base of `os` lives in `templatesDir` (it may not be built yet). */
export async function osBase(
  templatesDir: string,
  os: OperatingSystem,
  mirrors: { debian?: string; ubuntu?: string } = {},
): Promise<OsBase> {
  const family = OPERATING_SYSTEMS[os].family;
  const mirror =
    family === 'debian'
      ? (mirrors.debian ?? (await hostDebianMirror()))
      : (mirrors.ubuntu ?? UBUNTU_MIRROR);
  const extraCas = await hostExtraCas();
  const extra = familyPackages(family);
  const h = createHash('sha256').update(
    JSON.stringify({
      os,
      ...OPERATING_SYSTEMS[os],
      mirror,
      BASE_PACKAGES,
      DPKG_EXCLUDES,
      v: 1,
      ...(extra.length ? { extra } : {}),
    }),
  );
  for (const ca of extraCas) h.update(await readFile(ca));
  const name = `${os}-${h.digest('hex').slice(0, 12)}`;
  const dir = join(templatesDir, '.bases', name);
  return { os, mirror, name, dir, rootfs: join(dir, 'rootfs'), extraCas };
}

/**
 * What a family's minbase lacks that builds need: Ubuntu's (24.04) has no apt, which Debian's
 * minbase always has (and which creates /etc/apt/trusted.gpg.d).
 */
function familyPackages(family: string): string[] {
  return family === 'ubuntu' ? ['apt'] : [];
}

/** Whether the base is built (a base dir exists only once complete: it is renamed into place). */
export async function isBuilt(base: OsBase): Promise<boolean> {
  return (await stat(join(base.dir, 'base.json')).catch(() => null)) !== null;
}

/**
 * Builds the base unless it is built, and refreshes its package lists when they are older than
 * a few hours. One process at a time does either (an exclusive lock on the base); builds that
 * copy the base meanwhile wait, and it is only ever seen complete.
 */
export async function ensureOsBase(template: string, base: OsBase, log: OsBaseLog): Promise<void> {
  if ((await isBuilt(base)) && !(await listsAreOld(base))) return;
  await mkdir(join(base.dir, '..'), { recursive: true });
  await using _lock = await acquireLock(lockFile(base), 'exclusive', log.signal);
  if (!(await isBuilt(base))) await buildBase(template, base, log);
  else if (await listsAreOld(base)) await refreshLists(base, log);
}

/**
 * Copies the base's root to `dest` (a new directory), keeping owners, modes and set-uid bits;
 * a copy-on-write clone where the file system can.
 */
export async function copyOsBase(base: OsBase, dest: string, signal?: AbortSignal): Promise<void> {
  await using _lock = await acquireLock(lockFile(base), 'shared', signal);
  const r = await runCommand(
    'cp',
    ['-a', '--reflink=auto', '--one-file-system', '--', base.rootfs, dest],
    signal ? { signal } : {},
  );
  signal?.throwIfAborted();
  if (r.code !== 0) throw new Error(`copying the ${base.os} base failed: ${r.stderr.trim()}`);
}

/**
 * Asks apt in the base whether it can install `packages` (names, `name=version`, virtual
 * packages one package provides), without installing anything. Returns apt's complaint, or
 * null when it would install them.
 */
export async function aptRefusal(
  base: OsBase,
  packages: string[],
  signal?: AbortSignal,
): Promise<{ package?: string; message: string } | null> {
  if (!packages.length) return null;
  await using _lock = await acquireLock(lockFile(base), 'shared', signal);
  const lines: string[] = [];
  // No lock and no cache files: several checks may share the base, which must not change.
  const code = await runInChroot(
    base.rootfs,
    [
      'apt-get install --simulate --quiet',
      ...APT_OPTIONS.map(sh),
      '-o Debug::NoLocking=true -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=',
      ...packages.map(sh),
    ].join(' '),
    { onLine: (l) => lines.push(l), timeoutMs: 120_000, ...(signal ? { signal } : {}) },
  );
  if (code === 0) return null;
  const errors = lines.filter((l) => l.startsWith('E:'));
  const pkg =
    errors
      .map(
        (l) =>
          /Unable to locate package (\S+)/.exec(l)?.[1] ??
          /for '([^']+)' was not found/.exec(l)?.[1] ??
          /Package '([^']+)' has no installation candidate/.exec(l)?.[1],
      )
      .find((p) => p !== undefined) ?? undefined;
  // apt's own explanation (a virtual package's providers, unmet dependencies) is worth keeping.
  const explained = lines.filter((l) => !/^(Reading|Building|NOTE:|WARNING:)/.test(l)).slice(-15);
  return { ...(pkg ? { package: pkg } : {}), message: explained.join('\n') };
}

/** Whether the lists in the base are older than LISTS_MAX_AGE_MS (then apt may 404 on them). */
async function listsAreOld(base: OsBase): Promise<boolean> {
  const text = await readFile(join(base.dir, 'lists-updated'), 'utf8').catch(() => '');
  const at = Date.parse(text.trim());
  return !(at > Date.now() - LISTS_MAX_AGE_MS);
}

function lockFile(base: OsBase): string {
  return `${base.dir}.lock`;
}

async function buildBase(template: string, base: OsBase, log: OsBaseLog): Promise<void> {
  const os = OPERATING_SYSTEMS[base.os];
  await assertMirrorReachable(template, base.mirror, os.suite);
  const keyring = os.family === 'ubuntu' ? await ubuntuKeyring(template) : undefined;
  // Whatever builds of this base that died left (we hold its lock: no one else is building it).
  const parent = join(base.dir, '..');
  for (const n of await readdir(parent)) {
    if (n.startsWith(`.tmp-${base.name}-`)) await removeTree(join(parent, n));
  }
  const tmp = join(parent, `.tmp-${base.name}-${process.pid}-${Date.now()}`);
  await mkdir(tmp, { recursive: true });
  const own: string[] = [];
  try {
    const step = `base: build the ${base.os} base (minbase + ${BASE_PACKAGES.length} packages from ${base.mirror})`;
    log.onLine(STEP_MARK + step);
    const args = [
      '--verbose',
      '--variant=minbase',
      '--mode=root',
      '--format=directory',
      `--include=${[...BASE_PACKAGES, ...familyPackages(OPERATING_SYSTEMS[base.os].family)].join(',')}`,
      ...DPKG_EXCLUDES.map((e) => `--dpkgopt=${e}`),
      '--aptopt=Acquire::Retries "3"',
      '--aptopt=Acquire::Check-Valid-Until "false"',
      // Builds install from these lists; they are removed from each template instead.
      '--skip=cleanup/apt/lists',
      ...(keyring
        ? [
            `--keyring=${keyring}`,
            // apt inside the root checks the archive's signature too when a build installs.
            // Ubuntu's minbase (24.04) has no trusted.gpg.d directory.
            `--customize-hook=mkdir -p "$1/etc/apt/trusted.gpg.d" && cp ${keyring} "$1/etc/apt/trusted.gpg.d/"`,
          ]
        : []),
      // Certificate authorities the build host added (a TLS-intercepting egress proxy, a company
      // CA): without them npm and pip inside the root cannot reach their registries, and
      // neither could the sandbox's own programs.
      ...(base.extraCas.length
        ? [
            `--customize-hook=mkdir -p "$1/usr/local/share/ca-certificates" && cp ${base.extraCas.map(sh).join(' ')} "$1/usr/local/share/ca-certificates/" && chroot "$1" update-ca-certificates >/dev/null`,
          ]
        : []),
      os.suite,
      join(tmp, 'rootfs'),
      `deb ${base.mirror} ${os.suite} main${os.family === 'ubuntu' ? ' universe' : ''}`,
    ];
    const r = await runCommand('mmdebstrap', args, {
      timeoutMs: 30 * 60_000,
      onLine: (l) => {
        own.push(l);
        if (own.length > 4000) own.splice(0, 1000);
        log.onLine(l);
      },
      ...(log.signal ? { signal: log.signal } : {}),
      processGroup: true,
    });
    log.signal?.throwIfAborted();
    if (r.code !== 0) throw buildFailed(template, step, own.join('\n'));
    await writeFile(
      join(tmp, 'base.json'),
      JSON.stringify({ os: base.os, mirror: base.mirror, packages: BASE_PACKAGES }, null, 2),
    );
    await writeFile(join(tmp, 'lists-updated'), new Date().toISOString());
    await removeTree(base.dir); // an incomplete dir of an older format, if any
    await rename(tmp, base.dir);
  } finally {
    await removeTree(tmp);
  }
}

async function refreshLists(base: OsBase, log: OsBaseLog): Promise<void> {
  log.onLine(`${STEP_MARK}base: refresh the ${base.os} base's package lists`);
  const code = await withBuildChroot(base.rootfs, () =>
    runInChroot(base.rootfs, `apt-get update --quiet ${APT_OPTIONS.map(sh).join(' ')}`, {
      onLine: log.onLine,
      timeoutMs: 10 * 60_000,
      ...(log.signal ? { signal: log.signal } : {}),
    }),
  );
  // Old lists still serve most packages: a failed refresh is tried again by the next build.
  if (code === 0) await writeFile(join(base.dir, 'lists-updated'), new Date().toISOString());
  else
    log.onLine(`warning: refreshing the package lists failed (exit ${code}); using the old ones`);
}

/** A build that failed at a step: the error names the step and carries its output. */
export function buildFailed(template: string, step: string, output: string): SandboxError {
  const lines = output.trim().split('\n');
  // apt's and npm's own error lines say what went wrong; the tail is often just cleanup.
  const errors = lines.filter((l) => /^(E:|npm error|ERROR:|error:)/i.test(l.trim())).slice(-10);
  const tail = [...errors, ...(errors.length ? ['...'] : []), ...lines.slice(-10)].join('\n');
  // Keep the start of the step's output when it is short enough; otherwise the errors and the tail.
  const kept = output.length <= 8000 ? output : `${errors.join('\n')}\n...\n${output.slice(-6000)}`;
  return new SandboxError(
    'template_build_failed',
    `Building template "${template}" failed at step "${step}":\n${tail}`,
    { details: { template, step, output: kept } },
  );
}

/** Fails fast, naming the mirror, instead of letting apt retry for minutes. */
async function assertMirrorReachable(
  template: string,
  mirror: string,
  suite: string,
): Promise<void> {
  const url = `${mirror}/dists/${suite}/Release`;
  try {
    const res = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
    if (res.ok) return;
    throw new Error(`HTTP ${res.status}`);
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new SandboxError(
      'template_mirror_unreachable',
      `Template "${template}": the package mirror ${mirror} is unreachable from this machine (${cause?.code ?? cause?.message ?? (err as Error).message} for ${url}). Use an OS whose mirror is reachable, or configure a mirror.`,
      { details: { template, mirror, url } },
    );
  }
}

/** Ubuntu's archive key, without which apt refuses Ubuntu's mirror (Debian: `ubuntu-keyring`). */
async function ubuntuKeyring(template: string): Promise<string> {
  if (await stat(UBUNTU_KEYRING).catch(() => null)) return UBUNTU_KEYRING;
  throw new SandboxError(
    'host_prerequisite',
    `Template "${template}": Ubuntu's archive keyring (${UBUNTU_KEYRING}) is not installed. Fix: bash scripts/setup.sh (installs ubuntu-keyring).`,
    { details: { template, fix: 'bash scripts/setup.sh' } },
  );
}

async function hostExtraCas(): Promise<string[]> {
  const dir = '/usr/local/share/ca-certificates';
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => n.endsWith('.crt'))
    .sort()
    .map((n) => `${dir}/${n}`);
}

/** Quotes a word for /bin/sh. */
export function sh(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
