import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { run } from '../drivers/oci/command.ts';
import { SandboxError } from '../errors.ts';
import { hostDebianMirror } from './apt-mirror.ts';
import { shiftIds } from './shift-ids.ts';
import {
  BASE_PACKAGES,
  OPERATING_SYSTEMS,
  RUNTIME_NAMES,
  type TemplateSpec,
} from './template-spec.ts';

const execFileAsync = promisify(execFile);

export interface SpecBuildOptions {
  outRootfs: string;
  idBase: number;
  /** Package mirrors by OS family; Debian's defaults to the host's apt mirror. */
  mirrors?: { debian?: string; ubuntu?: string };
  npmRegistry?: string;
  pipIndexUrl?: string;
  onLog?: (line: string) => void;
  signal?: AbortSignal;
}

export interface SpecBuildResult {
  /** Versions found in the built root: runtimes (`node`, `python`, …) and notable packages. */
  versions: Record<string, string>;
}

const STEP_MARK = '==> runtools step: ';
/**
 * Build steps inside the new root get a clean environment: the caller's variables (an
 * `npm_config_prefix` set by `npm run`, `PIP_*` settings of the host) would otherwise steer npm
 * and pip inside the root (npm then installs into /usr and collides with Debian's node).
 */
const CLEAN_ENV =
  'env -i HOME=/root LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const UBUNTU_MIRROR = 'http://archive.ubuntu.com/ubuntu';

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

/**
 * Builds a spec template into `outRootfs` with mmdebstrap: the OS's packages plus what its
 * runtimes need, then npm and pip installs as customize hooks, then owners shifted to the sandbox
 * uid range. Build steps run as root in a chroot on the host (like `docker build`): a spec's
 * author is trusted with the host.
 */
export async function buildSpec(
  spec: TemplateSpec,
  options: SpecBuildOptions,
): Promise<SpecBuildResult> {
  const os = OPERATING_SYSTEMS[spec.os];
  const plan = await planRuntimes(spec, options);
  const mirror =
    os.family === 'debian'
      ? (options.mirrors?.debian ?? (await hostDebianMirror()))
      : (options.mirrors?.ubuntu ?? UBUNTU_MIRROR);
  await assertMirrorReachable(spec.slug, mirror, os.suite);
  const keyring = os.family === 'ubuntu' ? await ubuntuKeyring(spec.slug) : undefined;

  const apt = [...new Set([...BASE_PACKAGES, ...plan.apt, ...spec.apt])];
  if (spec.pip.length) apt.push('python3-pip');
  if (spec.npm.length) apt.push('nodejs', 'npm'); // npm packages need npm, runtime or not
  const hooks: Array<[string, string]> = [];
  // Certificate authorities the build host added (a TLS-intercepting egress proxy, a company CA):
  // without them npm and pip inside the new root cannot reach their registries, and neither
  // could the sandbox's own programs.
  const extraCas = await hostExtraCas();
  if (extraCas.length) {
    hooks.push([
      "trust the host's extra CA certificates",
      `mkdir -p "$1/usr/local/share/ca-certificates" && cp ${extraCas.map(sh).join(' ')} "$1/usr/local/share/ca-certificates/" && chroot "$1" update-ca-certificates >/dev/null`,
    ]);
  }
  const npm = [...plan.npm, ...spec.npm];
  if (npm.length) {
    const reg = options.npmRegistry ? ` --registry ${sh(options.npmRegistry)}` : '';
    const step = `npm install -g ${npm.join(' ')}`;
    hooks.push([
      step,
      `chroot "$1" ${CLEAN_ENV} NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm install -g --no-fund --no-audit --loglevel=warn${reg} ${npm.map(sh).join(' ')}`,
    ]);
  }
  if (spec.pip.length) {
    const index = options.pipIndexUrl ? ` --index-url ${sh(options.pipIndexUrl)}` : '';
    const step = `pip install ${spec.pip.join(' ')}`;
    hooks.push([
      step,
      `chroot "$1" ${CLEAN_ENV} python3 -m pip install --break-system-packages --no-cache-dir --disable-pip-version-check${index} ${spec.pip.map(sh).join(' ')}`,
    ]);
  }
  const args = [
    '--verbose', // apt and dpkg progress, streamed to the caller's log
    '--variant=minbase',
    '--mode=root',
    '--format=directory',
    `--include=${[...new Set(apt)].join(',')}`,
    '--dpkgopt=path-exclude=/usr/share/man/*',
    '--dpkgopt=path-exclude=/usr/share/doc/*',
    '--dpkgopt=path-exclude=/usr/share/locale/*',
    '--aptopt=Acquire::Retries "3"',
    '--aptopt=Acquire::Check-Valid-Until "false"',
    ...(keyring ? [`--keyring=${keyring}`] : []),
    ...hooks.map(([step, cmd]) => `--customize-hook=echo ${sh(STEP_MARK + step)} && ${cmd}`),
    os.suite,
    options.outRootfs,
    `deb ${mirror} ${os.suite} main${os.family === 'ubuntu' ? ' universe' : ''}`,
  ];
  // The log in order (stdout and stderr interleaved), to report the failing step's own output.
  const log: string[] = [];
  const onLine = (line: string) => {
    log.push(line);
    if (log.length > 4000) log.splice(0, 1000);
    options.onLog?.(line);
  };
  onLine(`${STEP_MARK}apt: ${os.suite} with ${apt.length} packages from ${mirror}`);
  const r = await run('mmdebstrap', args, {
    timeoutMs: 30 * 60_000,
    onLine,
    signal: options.signal,
  });
  if (r.code !== 0) {
    const at = log.findLastIndex((l) => l.startsWith(STEP_MARK));
    const step = at >= 0 ? (log[at] as string).slice(STEP_MARK.length) : 'apt';
    const own = log.slice(Math.max(at, 0) + 1).join('\n');
    throw buildFailed(
      spec.slug,
      step.startsWith('apt:') ? `apt: install ${spec.apt.join(' ') || 'base packages'}` : step,
      own,
    );
  }
  const versions = await readVersions(options.outRootfs);
  if (extraCas.length) versions['extra-ca-certificates'] = String(extraCas.length);
  options.onLog?.(`${STEP_MARK}shift owners to the sandbox uid range`);
  await shiftIds(options.outRootfs, options.idBase);
  return { versions };
}

interface RuntimePlan {
  apt: string[];
  npm: string[];
}

/** Turns `runtimes` into packages, or explains which versions exist. */
async function planRuntimes(spec: TemplateSpec, options: SpecBuildOptions): Promise<RuntimePlan> {
  const os = OPERATING_SYSTEMS[spec.os];
  const plan: RuntimePlan = { apt: [], npm: [] };
  for (const { name, version } of spec.runtimes) {
    const v = version.replace(/\.x$/, '').replace(/^v/, '');
    if (name === 'python') {
      if (v === '3' || v === 'latest' || v === os.python || os.python.startsWith(`${v}.`)) {
        plan.apt.push('python3', 'python3-venv');
        continue;
      }
      throw unavailable(
        spec.slug,
        'python',
        version,
        [os.python, '3', 'latest'],
        `${spec.os} ships Python ${os.python}`,
      );
    }
    if (name === 'node') {
      plan.apt.push('nodejs', 'npm');
      if (v === os.node) continue;
      const majors = await npmMajors('node', options);
      const wanted = v === 'latest' ? String(Math.max(...majors)) : v;
      if (wanted === os.node) continue;
      if (!majors.includes(Number(wanted.split('.')[0])) || !/^\d+(\.\d+){0,2}$/.test(wanted)) {
        throw unavailable(
          spec.slug,
          'node',
          version,
          [os.node, ...majors.filter((m) => m >= 18).map(String), 'latest'],
          `${spec.os} ships Node.js ${os.node}; others come from the npm registry's "node" package`,
        );
      }
      plan.npm.push(`node@${wanted}`);
      continue;
    }
    if (name === 'bun') {
      if (v !== 'latest') {
        const majors = await npmMajors('bun', options);
        if (!majors.includes(Number(v.split('.')[0]))) {
          throw unavailable(
            spec.slug,
            'bun',
            version,
            [...majors.map(String), 'latest'],
            'Bun comes from the npm registry',
          );
        }
      }
      plan.apt.push('nodejs', 'npm');
      plan.npm.push(v === 'latest' ? 'bun' : `bun@${v}`);
      continue;
    }
    throw new SandboxError(
      'template_invalid',
      `Template "${spec.slug}": unknown runtime "${name}". Known runtimes: ${RUNTIME_NAMES.join(', ')} (other software: list its Debian packages in "apt").`,
      { details: { template: spec.slug, runtime: name } },
    );
  }
  return plan;
}

function unavailable(
  template: string,
  name: string,
  version: string,
  available: string[],
  why: string,
): SandboxError {
  const list = [...new Set(available)];
  return new SandboxError(
    'template_runtime_unavailable',
    `Template "${template}": ${name} ${version} is not available (${why}). Available versions: ${list.join(', ')}.`,
    { details: { template, runtime: name, version, available: list } },
  );
}

async function npmMajors(pkg: string, options: SpecBuildOptions): Promise<number[]> {
  const args = [
    'view',
    pkg,
    'versions',
    '--json',
    ...(options.npmRegistry ? ['--registry', options.npmRegistry] : []),
  ];
  try {
    const { stdout } = await execFileAsync('npm', args, { timeout: 30_000 });
    const versions = JSON.parse(stdout) as string[];
    return [
      ...new Set(
        versions.filter((x) => /^\d+\.\d+\.\d+$/.test(x)).map((x) => Number(x.split('.')[0])),
      ),
    ].sort((a, b) => a - b);
  } catch (err) {
    throw new SandboxError(
      'template_registry_unreachable',
      `Cannot list ${pkg} versions from the npm registry: ${(err as Error).message}`,
      {
        details: { package: pkg },
      },
    );
  }
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

const UBUNTU_KEYRING = '/usr/share/keyrings/ubuntu-archive-keyring.gpg';

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
function sh(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
