import { templateBuildPlanLine } from '@runtools/sdk/api';
import {
  APT_OPTIONS,
  DPKG_EXCLUDES,
  prepareBuildRoot,
  UNDO_BUILD_ROOT,
  unmountBelow,
} from './build-chroot.ts';
import { type BuildContainerOptions, runInBuildContainer } from './build-container.ts';
import { openBuildNetwork } from './build-network.ts';
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
 * Builds a spec template into `outRootfs`: a copy of its OS base with owners shifted to the
 * sandbox uid range, then the apt packages the spec adds (and its runtimes need), npm and pip
 * installs. Every step runs in a build container (`runInBuildContainer`: root there is the
 * sandbox's host uid, own namespaces, the sandboxes' egress policy), never as host root: a
 * package's install scripts are the spec author's code. A spec that adds nothing is a copy and
 * a shift. The log says how many steps follow (`==> runtools plan: N steps`), each step starts
 * with a `==> runtools step: ` line, and a failure names its step.
 */
export async function buildSpec(
  spec: TemplateSpec,
  options: SpecBuildOptions,
): Promise<SpecBuildResult> {
  const root = options.outRootfs;
  const { base, signal, idBase } = options;
  // The log in order (stdout and stderr interleaved), to report the failing step's own output.
  const log: string[] = [];
  const onLine = (line: string) => {
    log.push(line);
    if (log.length > 4000) log.splice(0, 1000);
    options.onLog?.(line);
  };
  const inContainer = { root, idBase, onLine, ...(signal ? { signal } : {}) };
  const apt = aptPackages(spec, options.plan).filter((p) => !BASE_PACKAGES.includes(p));
  const npm = [...options.plan.npm, ...spec.npm];
  const installs = [apt.length, npm.length, spec.pip.length].filter((n) => n > 0).length;

  // Copy, shift, each install, finish: a client's progress bar counts the step lines against it.
  onLine(templateBuildPlanLine(3 + installs));
  onLine(`${STEP_MARK}copy the ${base.os} base (${base.name})`);
  await copyOsBase(base, root, signal);
  // Nothing is mounted there; but never chown through a mount into the host's /dev or /proc.
  await unmountBelow(root);
  // Before anything runs inside: the steps run as the sandbox's root, and own what they make.
  onLine(`${STEP_MARK}shift owners to the sandbox uid range`);
  await shiftIds(root, idBase);
  if (installs > 0) {
    await prepareBuildRoot(root, idBase);
    await using network = await openBuildNetwork(
      [options.npmRegistry, options.pipIndexUrl, base.mirror].filter((u) => u !== undefined),
    );
    const step = async (
      name: string,
      command: string,
      retry?: (output: string) => string | null,
    ) => {
      onLine(STEP_MARK + name);
      let at = log.length;
      let code = await runInBuildContainer(command, { ...inContainer, network });
      const again = code !== 0 ? retry?.(log.slice(at).join('\n')) : null;
      if (again) {
        at = log.length;
        code = await runInBuildContainer(again, { ...inContainer, network });
      }
      if (code !== 0) throw buildFailed(spec.slug, name, log.slice(at).join('\n'));
    };
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
  }
  onLine(`${STEP_MARK}finish the root`);
  const versions = await finishRoot(spec.slug, inContainer);
  if (base.extraCas.length) versions['extra-ca-certificates'] = String(base.extraCas.length);
  return { versions };
}

const VERSION_MARK = '==> version ';
const PACKAGE_MARK = '==> package ';
/** Debian packages whose versions a template's manifest names. */
const NOTABLE_PACKAGES = [
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

/**
 * In a last container (no network): undoes what only the build needed, drops apt's lists and
 * downloads (as mmdebstrap's cleanup), and reads the versions of the runtimes inside. The host
 * runs nothing of a built root: `node` there may be an npm package's.
 */
async function finishRoot(
  template: string,
  options: Omit<BuildContainerOptions, 'network'>,
): Promise<Record<string, string>> {
  const lines: string[] = [];
  const probe = (name: string, cmd: string) =>
    `v=$( (${cmd}) 2>/dev/null | head -n 1) && [ -n "$v" ] && echo ${sh(`${VERSION_MARK}${name}=`)}"$v"`;
  const script = [
    UNDO_BUILD_ROOT,
    probe('node', 'command -v node >/dev/null && node --version'),
    probe('npm', 'command -v npm >/dev/null && npm --version'),
    probe('pnpm', 'command -v pnpm >/dev/null && pnpm --version'),
    probe('bun', 'command -v bun >/dev/null && bun --version'),
    probe('python', 'command -v python3 >/dev/null && python3 --version'),
    `dpkg-query -W -f=${sh(`${PACKAGE_MARK}\${Package} \${Version} \${db:Status-Abbrev}\\n`)} ${NOTABLE_PACKAGES.join(' ')} 2>/dev/null`,
    'true',
  ].join('\n');
  const code = await runInBuildContainer(script, {
    ...options,
    onLine: (l) => lines.push(l),
    timeoutMs: 120_000,
  });
  if (code !== 0) throw buildFailed(template, 'finish the root', lines.join('\n'));
  const versions: Record<string, string> = {};
  for (const l of lines) {
    if (!l.startsWith(VERSION_MARK)) continue;
    const [name, ...value] = l.slice(VERSION_MARK.length).split('=');
    const v = value
      .join('=')
      .trim()
      .replace(/^v|^Python /, '');
    if (name && v) versions[name] = v;
  }
  for (const l of lines) {
    if (!l.startsWith(PACKAGE_MARK)) continue;
    const [name, version, status] = l.slice(PACKAGE_MARK.length).split(' ');
    if (name && version && status?.startsWith('ii')) versions[name] = version;
  }
  return versions;
}
