import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../drivers/oci/command.ts';
import { SandboxError, TemplateNotFoundError } from '../errors.ts';
import { hostDebianMirror } from './apt-mirror.ts';
import { shiftIds } from './shift-ids.ts';

/** A built template: what a sandbox needs to boot from it. */
export interface TemplateInfo {
  slug: string;
  /** Content hash of the definition; a rebuild with another definition is another version. */
  version: string;
  /** Root filesystem (owned by the sandbox uid range), used read-only. */
  rootfs: string;
  env: Record<string, string>;
  cwd: string;
  createdAt: string;
  sizeBytes: number;
  buildMs: number;
  /** Versions of the notable packages inside. */
  packages: Record<string, string>;
}

/** A template the store can build itself from Debian packages. */
export interface DebianTemplateDefinition {
  slug: string;
  suite: 'trixie' | 'bookworm';
  packages: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Packages whose versions are recorded in the manifest. */
  report?: string[];
}

/**
 * The base system template of the sandbox engine. The full template system (more system
 * templates, specs, Dockerfiles) builds on this store.
 */
export const BASE_TEMPLATES: DebianTemplateDefinition[] = [
  {
    slug: 'debian-13',
    suite: 'trixie',
    packages: ['bash', 'coreutils', 'ripgrep', 'procps', 'ca-certificates', 'python3-minimal'],
    env: { HOME: '/root', LANG: 'C.UTF-8' },
    cwd: '/root',
    report: ['bash', 'ripgrep', 'python3-minimal'],
  },
];

export interface TemplateStoreOptions {
  dir: string;
  /** Host uid that is root in sandboxes: template roots are shifted to it. */
  idBase: number;
  definitions?: DebianTemplateDefinition[];
  mirror?: string;
}

/** Builds (once, cached on disk) and finds templates. */
export class TemplateStore {
  readonly dir: string;
  private readonly idBase: number;
  private readonly definitions: Map<string, DebianTemplateDefinition>;
  private readonly building = new Map<string, Promise<TemplateInfo>>();
  private mirror: string | undefined;

  constructor(options: TemplateStoreOptions) {
    this.dir = options.dir;
    this.idBase = options.idBase;
    this.mirror = options.mirror;
    this.definitions = new Map((options.definitions ?? BASE_TEMPLATES).map((d) => [d.slug, d]));
  }

  /** Slugs that exist or can be built. */
  async slugs(): Promise<string[]> {
    const built = await readdir(this.dir).catch(() => [] as string[]);
    return [
      ...new Set([...this.definitions.keys(), ...built.filter((n) => !n.startsWith('.'))]),
    ].sort();
  }

  /** The current version of `slug`, building it first when it is a known definition. */
  async get(slug: string, options: { onLog?: (line: string) => void } = {}): Promise<TemplateInfo> {
    const def = this.definitions.get(slug);
    if (def) {
      const version = definitionHash(def, this.idBase);
      const existing = await this.readManifest(slug, version);
      if (existing) return existing;
      let p = this.building.get(slug);
      if (!p) {
        p = this.build(def, version, options.onLog).finally(() => this.building.delete(slug));
        this.building.set(slug, p);
      }
      return p;
    }
    const current = await readFile(join(this.dir, slug, 'current'), 'utf8').catch(() => null);
    const info = current ? await this.readManifest(slug, current.trim()) : null;
    if (!info) throw new TemplateNotFoundError(slug, await this.slugs());
    return info;
  }

  /** Looks up a specific version (a sandbox keeps the version it was created from). */
  async version(slug: string, version: string): Promise<TemplateInfo> {
    const info = await this.readManifest(slug, version);
    if (!info) throw new TemplateNotFoundError(`${slug}@${version}`, await this.slugs());
    return info;
  }

  private async readManifest(slug: string, version: string): Promise<TemplateInfo | null> {
    const text = await readFile(join(this.dir, slug, version, 'manifest.json'), 'utf8').catch(
      () => null,
    );
    return text ? (JSON.parse(text) as TemplateInfo) : null;
  }

  private async build(
    def: DebianTemplateDefinition,
    version: string,
    onLog?: (line: string) => void,
  ): Promise<TemplateInfo> {
    const started = Date.now();
    const final = join(this.dir, def.slug, version);
    const tmp = join(this.dir, '.build', `${def.slug}-${version}-${process.pid}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    try {
      this.mirror ??= await hostDebianMirror();
      onLog?.(`mmdebstrap ${def.suite} (${def.packages.join(', ')}) from ${this.mirror}`);
      const rootfs = join(tmp, 'rootfs');
      const r = await run(
        'mmdebstrap',
        [
          '--variant=minbase',
          '--mode=root',
          '--format=directory',
          `--include=${def.packages.join(',')}`,
          '--dpkgopt=path-exclude=/usr/share/man/*',
          '--dpkgopt=path-exclude=/usr/share/doc/*',
          '--dpkgopt=path-exclude=/usr/share/locale/*',
          '--aptopt=Acquire::Retries "3"',
          def.suite,
          rootfs,
          this.mirror,
        ],
        { timeoutMs: 20 * 60_000 },
      );
      if (r.code !== 0) {
        throw new SandboxError(
          'template_build_failed',
          `Building template ${def.slug} failed at step "mmdebstrap": ${r.stderr.trim().split('\n').slice(-15).join('\n')}`,
          { details: { template: def.slug, step: 'mmdebstrap', output: r.stderr.slice(-8000) } },
        );
      }
      const packages = await packageVersions(rootfs, def.report ?? []);
      onLog?.('shifting file owners to the sandbox uid range');
      await shiftIds(rootfs, this.idBase);
      const du = await run('du', ['-sb', rootfs]);
      const info: TemplateInfo = {
        slug: def.slug,
        version,
        rootfs: join(final, 'rootfs'),
        env: def.env ?? {},
        cwd: def.cwd ?? '/',
        createdAt: new Date().toISOString(),
        sizeBytes: Number(du.stdout.split('\t')[0]) || 0,
        buildMs: Date.now() - started,
        packages,
      };
      await writeFile(join(tmp, 'manifest.json'), JSON.stringify(info, null, 2));
      await mkdir(join(this.dir, def.slug), { recursive: true });
      await rm(final, { recursive: true, force: true });
      await rename(tmp, final);
      await writeFile(join(this.dir, def.slug, 'current'), version);
      onLog?.(`template ${def.slug} ready in ${info.buildMs} ms`);
      return info;
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }
}

function definitionHash(def: DebianTemplateDefinition, idBase: number): string {
  return createHash('sha256')
    .update(JSON.stringify({ ...def, idBase, format: 1 }))
    .digest('hex')
    .slice(0, 16);
}

async function packageVersions(rootfs: string, names: string[]): Promise<Record<string, string>> {
  if (!names.length) return {};
  const r = await run('dpkg-query', [
    `--admindir=${join(rootfs, 'var/lib/dpkg')}`,
    '-W',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
    '-f=${Package} ${Version}\\n',
    ...names,
  ]);
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const [name, version] = line.split(' ');
    if (name && version) out[name] = version;
  }
  return out;
}
