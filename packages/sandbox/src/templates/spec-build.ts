import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../drivers/oci/command.ts';
import {
  APT_OPTIONS,
  DPKG_EXCLUDES,
  runInChroot,
  unmountBelow,
  withBuildChroot,
} from './build-chroot.ts';
import { buildFailed, copyOsBase, type OsBase, STEP_MARK, sh } from './os-base.ts';
import { shiftIds } from './shift-ids.ts';
import { aptPackages, type RuntimePlan } from './spec-validate.ts';
import { BASE_PACKAGES, type TemplateSpec } from './template-spec.ts';

export interface SpecBuildOptions {
  outRootfs: string;
  idBase: number;
  /** The OS base to start from, built (`ensureOsBase`). */
  base: OsBase;
  /** What the spec's runtimes add (`checkSpec`). */
  plan: RuntimePlan;
  npmRegistry?: string;
  pipIndexUrl?: string;
  onLog?: (line: string) => void;
  signal?: AbortSignal;
}

export interface SpecBuildResult {
  /** Versions found in the built root: runtimes (`node`, `python`, …) and notable packages. */
  versions: Record<string, string>;
}

/**
 * Builds a spec template into `outRootfs`: a copy of its OS base, then, in a chroot of the copy,
 * the apt packages the spec adds (and its runtimes need), npm and pip installs, then owners
 * shifted to the sandbox uid range. A spec that adds nothing is a copy and a shift. Build steps
 * run as root in a chroot on the host (like `docker build`): a spec's author is trusted with
 * the host. Each step starts with a `==> runtools step: ` line; a failure names its step.
 */
export async function buildSpec(
  spec: TemplateSpec,
  options: SpecBuildOptions,
): Promise<SpecBuildResult> {
  const root = options.outRootfs;
  const { base, signal } = options;
  // The log in order (stdout and stderr interleaved), to report the failing step's own output.
  const log: string[] = [];
  const onLine = (line: string) => {
    log.push(line);
    if (log.length > 4000) log.splice(0, 1000);
    options.onLog?.(line);
  };
  const step = async (name: string, command: string, retry?: (output: string) => string | null) => {
    onLine(STEP_MARK + name);
    let at = log.length;
    let code = await runInChroot(root, command, { onLine, ...(signal ? { signal } : {}) });
    const again = code !== 0 ? retry?.(log.slice(at).join('\n')) : null;
    if (again) {
      at = log.length;
      code = await runInChroot(root, again, { onLine, ...(signal ? { signal } : {}) });
    }
    if (code !== 0) throw buildFailed(spec.slug, name, log.slice(at).join('\n'));
  };

  onLine(`${STEP_MARK}copy the ${base.os} base (${base.name})`);
  await copyOsBase(base, root, signal);
  const apt = aptPackages(spec, options.plan).filter((p) => !BASE_PACKAGES.includes(p));
  const npm = [...options.plan.npm, ...spec.npm];
  if (apt.length || npm.length || spec.pip.length) {
    await withBuildChroot(root, async () => {
      if (apt.length) {
        const install = [
          'apt-get install --yes --quiet',
          ...APT_OPTIONS.map(sh),
          ...DPKG_EXCLUDES.map((e) => `-o ${sh(`DPkg::Options::=--${e}`)}`),
          ...apt.map(sh),
        ].join(' ');
        // Lists a few hours old may name files the mirror has replaced since: update, retry once.
        await step(`apt: install ${apt.join(' ')}`, install, (output) =>
          /Failed to fetch|404\s+Not Found|--fix-missing/.test(output)
            ? `apt-get update --quiet ${APT_OPTIONS.map(sh).join(' ')} && ${install}`
            : null,
        );
      }
      if (npm.length) {
        const reg = options.npmRegistry ? ` --registry ${sh(options.npmRegistry)}` : '';
        await step(
          `npm install -g ${npm.join(' ')}`,
          `NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm install -g --no-fund --no-audit --loglevel=warn${reg} ${npm.map(sh).join(' ')}`,
        );
      }
      if (spec.pip.length) {
        const index = options.pipIndexUrl ? ` --index-url ${sh(options.pipIndexUrl)}` : '';
        await step(
          `pip install ${spec.pip.join(' ')}`,
          `python3 -m pip install --break-system-packages --no-cache-dir --disable-pip-version-check${index} ${spec.pip.map(sh).join(' ')}`,
        );
      }
    });
  }
  await removeAptCaches(root);
  const versions = await readVersions(root);
  if (base.extraCas.length) versions['extra-ca-certificates'] = String(base.extraCas.length);
  // Never chown through a mount into the host's /dev or /proc.
  await unmountBelow(root);
  onLine(`${STEP_MARK}shift owners to the sandbox uid range`);
  await shiftIds(root, options.idBase);
  return { versions };
}

/** As mmdebstrap's cleanup: no package lists or downloaded packages in a template. */
async function removeAptCaches(root: string): Promise<void> {
  const lists = join(root, 'var/lib/apt/lists');
  for (const n of await readdir(lists).catch(() => [] as string[])) {
    if (n !== 'partial' && n !== 'lock') await rm(join(lists, n), { recursive: true, force: true });
  }
  const cache = join(root, 'var/cache/apt');
  for (const n of await readdir(cache).catch(() => [] as string[])) {
    if (n.endsWith('.bin')) await rm(join(cache, n), { force: true });
  }
  const archives = join(cache, 'archives');
  for (const n of await readdir(archives).catch(() => [] as string[])) {
    if (n.endsWith('.deb')) await rm(join(archives, n), { force: true });
  }
}

async function readVersions(rootfs: string): Promise<Record<string, string>> {
  const versions: Record<string, string> = {};
  const probe = async (name: string, cmd: string) => {
    const r = await run('chroot', [rootfs, '/bin/sh', '-c', cmd], { timeoutMs: 30_000 });
    const v = r.stdout
      .trim()
      .split('\n')[0]
      ?.replace(/^v|^Python /, '');
    if (r.code === 0 && v) versions[name] = v;
  };
  await probe('node', 'command -v node >/dev/null && node --version');
  await probe('npm', 'command -v npm >/dev/null && npm --version');
  await probe('pnpm', 'command -v pnpm >/dev/null && pnpm --version');
  await probe('bun', 'command -v bun >/dev/null && bun --version');
  await probe('python', 'command -v python3 >/dev/null && python3 --version');
  const notable = [
    'bash',
    'ripgrep',
    'git',
    'python3-numpy',
    'python3-pandas',
    'python3-torch',
    'postgresql',
    'redis-server',
    'nodejs',
  ];
  const r = await run('dpkg-query', [
    `--admindir=${rootfs}/var/lib/dpkg`,
    '-W',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
    '-f=${Package} ${Version} ${db:Status-Abbrev}\\n',
    ...notable,
  ]);
  for (const line of r.stdout.split('\n')) {
    const [name, version, status] = line.split(' ');
    if (name && version && status?.startsWith('ii')) versions[name] = version;
  }
  return versions;
}
