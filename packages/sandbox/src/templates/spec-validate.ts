import { SandboxError } from '../errors.ts';
import { commandFailure, runCommand } from '../host/run-command.ts';
import { aptRefusal, type OsBase } from './os-base.ts';
import { OPERATING_SYSTEMS, RUNTIME_NAMES, type TemplateSpec } from './template-spec.ts';

export interface SpecCheckOptions {
  npmRegistry?: string;
  pipIndexUrl?: string;
  signal?: AbortSignal;
}

/** Where pip gets packages when no index is configured. */
export const DEFAULT_PIP_INDEX = 'https://pypi.org/simple';

/**
 * Checks what a spec asks for without building anything: its runtime versions exist, the npm
 * registry has its npm packages and the pip index (PyPI unless configured) its pip packages.
 * An index this machine cannot reach fails here, naming it, rather than minutes into a build.
 * Returns what its runtimes add. apt packages are checked against an OS base by
 * `checkAptPackages`.
 */
export async function checkSpec(
  spec: TemplateSpec,
  options: SpecCheckOptions,
): Promise<RuntimePlan> {
  const plan = await planRuntimes(spec, options);
  await Promise.all([
    ...spec.npm.map((p) => checkNpmPackage(spec.slug, p, options)),
    ...spec.pip.map((p) => checkPipPackage(spec.slug, p, options)),
  ]);
  return plan;
}

/** The apt packages a build of `spec` installs on top of the base. */
export function aptPackages(spec: TemplateSpec, plan: RuntimePlan): string[] {
  const apt = [...plan.apt, ...spec.apt];
  if (spec.pip.length) apt.push('python3-pip');
  if (spec.npm.length) apt.push('nodejs', 'npm'); // npm packages need npm, runtime or not
  return [...new Set(apt)];
}

/** Refuses apt packages apt in `base` does not know or cannot install, naming them. */
export async function checkAptPackages(
  template: string,
  base: OsBase,
  packages: string[],
  signal?: AbortSignal,
): Promise<void> {
  const refusal = await aptRefusal(base, packages, signal);
  if (!refusal) return;
  const what = refusal.package
    ? `apt package "${refusal.package}"`
    : `apt packages ${packages.join(' ')}`;
  throw new SandboxError(
    'template_invalid',
    `Template "${template}": ${base.os} cannot install the ${what}. Check the name (and version) at https://packages.debian.org or with "apt-cache search" in a ${base.os} sandbox, then fix "apt". apt said:\n${refusal.message}`,
    {
      details: {
        template,
        packageManager: 'apt',
        ...(refusal.package ? { package: refusal.package } : { packages }),
        os: base.os,
      },
    },
  );
}

async function checkNpmPackage(
  template: string,
  spec: string,
  options: SpecCheckOptions,
): Promise<void> {
  const args = [
    'view',
    spec,
    'version',
    '--json',
    '--fetch-retries=1',
    '--fetch-timeout=15000',
    ...(options.npmRegistry ? ['--registry', options.npmRegistry] : []),
  ];
  const r = await runCommand('npm', args, {
    timeoutMs: 60_000,
    ...(options.signal ? { signal: options.signal } : {}),
  }).catch((err: Error) => ({
    code: -1,
    stdout: '',
    stderr: err.message,
    timedOut: false,
    aborted: false,
  }));
  options.signal?.throwIfAborted();
  const stdout = r.code === 0 ? r.stdout : '';
  if (r.code !== 0) {
    const code = /"code":\s*"(E\w+)"/.exec(r.stdout)?.[1] ?? '';
    if (code !== 'E404') {
      throw new SandboxError(
        'template_registry_unreachable',
        `Template "${template}": cannot look up npm package "${spec}" in the npm registry${options.npmRegistry ? ` ${options.npmRegistry}` : ''} (${code || commandFailure('npm', r)}). Check the registry is reachable from this machine.`,
        {
          details: {
            template,
            package: spec,
            packageManager: 'npm',
            registry: options.npmRegistry ?? null,
          },
        },
      );
    }
  }
  if (stdout.trim()) return;
  throw new SandboxError(
    'template_invalid',
    `Template "${template}": the npm registry has no package "${spec}"${spec.lastIndexOf('@') > 0 ? ' (or no version matching that range)' : ''}. Check the name and version on npmjs.com, then fix "npm".`,
    { details: { template, package: spec, packageManager: 'npm' } },
  );
}

/** PEP 503: `<index>/<normalized name>/` lists a project's files, or is a 404. */
async function checkPipPackage(
  template: string,
  requirement: string,
  options: SpecCheckOptions,
): Promise<void> {
  const indexUrl = options.pipIndexUrl ?? DEFAULT_PIP_INDEX;
  const name = (/^[A-Za-z0-9._-]+/.exec(requirement)?.[0] ?? requirement)
    .toLowerCase()
    .replace(/[-_.]+/g, '-');
  const url = `${indexUrl.replace(/\/+$/, '')}/${name}/`;
  let status: number;
  try {
    const signal = options.signal
      ? AbortSignal.any([options.signal, AbortSignal.timeout(15_000)])
      : AbortSignal.timeout(15_000);
    const res = await fetch(url, { signal });
    await res.body?.cancel();
    status = res.status;
  } catch (err) {
    options.signal?.throwIfAborted();
    const cause = (err as Error).cause instanceof Error ? (err as Error).cause : err;
    const fix = options.pipIndexUrl
      ? 'Check that it is reachable from this machine.'
      : 'Set RUNTOOLS_PIP_INDEX_URL to an index this machine reaches (a mirror or a proxy of PyPI)';
    throw new SandboxError(
      'template_registry_unreachable',
      `Template "${template}": cannot look up pip package "${name}": the pip index ${indexUrl}${options.pipIndexUrl ? '' : ' (PyPI)'} is unreachable from this machine (${(cause as Error).message}). ${fix}${options.pipIndexUrl ? '' : `, or install it from apt instead (e.g. "apt": ["python3-${name}"]).`}`,
      { details: { template, package: requirement, packageManager: 'pip', index: indexUrl } },
    );
  }
  if (status === 200) return;
  if (status === 404) {
    throw new SandboxError(
      'template_invalid',
      `Template "${template}": the pip index ${indexUrl} has no package "${name}". Check the name, then fix "pip".`,
      { details: { template, package: requirement, packageManager: 'pip', index: indexUrl } },
    );
  }
  throw new SandboxError(
    'template_registry_unreachable',
    `Template "${template}": the pip index ${indexUrl} answered HTTP ${status} for ${url}.`,
    { details: { template, package: requirement, packageManager: 'pip', index: indexUrl } },
  );
}

export interface RuntimePlan {
  apt: string[];
  npm: string[];
}

/** Turns `runtimes` into packages, or explains which versions exist. */
async function planRuntimes(spec: TemplateSpec, options: SpecCheckOptions): Promise<RuntimePlan> {
  const os = OPERATING_SYSTEMS[spec.os];
  const plan: RuntimePlan = { apt: [], npm: [] };
  for (const { name, version } of spec.runtimes) {
    const v = version.replace(/\.x$/, '').replace(/^v/, '');
    if (name === 'python') {
      if (v === '3' || v === 'latest' || v === os.python || os.python.startsWith(`${v}.`)) {
        plan.apt.push('python3', 'python3-venv');
        continue;
      }
      const elsewhere = Object.entries(OPERATING_SYSTEMS)
        .filter(([, other]) => other.python === v || other.python.startsWith(`${v}.`))
        .map(([name, other]) => `${name} ships ${other.python}`);
      throw unavailable(
        spec.slug,
        'python',
        version,
        [os.python, '3', 'latest'],
        `${spec.os} ships Python ${os.python}${elsewhere.length ? `; ${elsewhere.join(', ')}` : ''}`,
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

async function npmMajors(pkg: string, options: SpecCheckOptions): Promise<number[]> {
  const args = [
    'view',
    pkg,
    'versions',
    '--json',
    ...(options.npmRegistry ? ['--registry', options.npmRegistry] : []),
  ];
  try {
    const r = await runCommand('npm', args, { timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(commandFailure('npm', r));
    const versions = JSON.parse(r.stdout) as string[];
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
