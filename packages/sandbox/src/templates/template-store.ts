import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { SandboxError, TemplateNotFoundError } from '../errors.ts';
import { isAlive } from '../host/is-alive.ts';
import { removeTree } from '../host/remove-tree.ts';
import { runCommand } from '../host/run-command.ts';
import { parseOptions } from '../options.ts';
import { buildDockerfile } from './dockerfile/build.ts';
import { parseDockerfile } from './dockerfile/parse.ts';
import { ensureOsBase, isBuilt, type OsBase, osBase } from './os-base.ts';
import { buildSpec } from './spec-build.ts';
import { aptPackages, checkAptPackages, checkSpec, type RuntimePlan } from './spec-validate.ts';
import {
  SYSTEM_TEMPLATES,
  type TemplateSpec,
  type TemplateSpecInput,
  templateSpecSchema,
} from './template-spec.ts';

/** A built template version: what a sandbox needs to boot from it. */
export interface TemplateInfo {
  slug: string;
  kind: 'system' | 'spec' | 'dockerfile';
  /** Content hash of the definition: building the same definition again reuses this version. */
  version: string;
  /** Root filesystem (owned by the sandbox uid range), used read-only by sandboxes. */
  rootfs: string;
  env: Record<string, string>;
  cwd: string;
  startCmd?: string;
  readyCmd?: string;
  createdAt: string;
  sizeBytes: number;
  buildMs: number;
  /** Versions found inside: runtimes (`node`, `python`, …) and notable packages. */
  versions: Record<string, string>;
}

/** What a template is built from. */
export type TemplateDefinition =
  | { kind: 'spec'; spec: TemplateSpecInput }
  | { kind: 'dockerfile'; slug: string; dockerfile: string; contextDir?: string };

export interface BuildOptions {
  /** Every line of the build log, as it comes. */
  onLog?: (line: string) => void;
  signal?: AbortSignal;
}

export interface ValidateOptions extends BuildOptions {
  /**
   * apt packages are checked against the OS's base (its package lists). `'build'` builds the
   * base first when this templates dir has none yet (a minute or two, once); `'if-built'`
   * skips the apt check then, and the build checks them before its first step.
   */
  base?: 'build' | 'if-built';
}

export interface TemplateStoreOptions {
  dir: string;
  /** Host uid that is root in sandboxes: template roots are shifted to it. */
  idBase: number;
  mirrors?: { debian?: string; ubuntu?: string };
  npmRegistry?: string;
  pipIndexUrl?: string;
}

/**
 * Builds, caches, versions and finds templates. Layout: `<dir>/<slug>/<version>/{rootfs,
 * manifest.json}` and `<dir>/<slug>/current`. A build goes to a temporary directory and is
 * renamed into place only when it succeeded, so a failed build leaves nothing and the previous
 * version stays current.
 */
export class TemplateStore {
  readonly dir: string;
  private readonly opts: TemplateStoreOptions;
  private readonly building = new Map<string, Promise<TemplateInfo>>();

  constructor(options: TemplateStoreOptions) {
    this.dir = options.dir;
    this.opts = options;
  }

  /** Slugs of the system templates and of every built template. */
  async slugs(): Promise<string[]> {
    const built = await readdir(this.dir).catch(() => [] as string[]);
    return [
      ...new Set([...Object.keys(SYSTEM_TEMPLATES), ...built.filter((n) => !n.startsWith('.'))]),
    ].sort();
  }

  /** The current version of every built template. */
  async list(): Promise<TemplateInfo[]> {
    const out: TemplateInfo[] = [];
    for (const slug of await this.slugs()) {
      const info = await this.current(slug);
      if (info) out.push(info);
    }
    return out;
  }

  /** The current version of `slug`; a system template is built first when needed (cached). */
  async get(slug: string, options: BuildOptions = {}): Promise<TemplateInfo> {
    const system = SYSTEM_TEMPLATES[slug];
    if (system)
      return this.buildSpec(
        parseOptions(templateSpecSchema, system, 'template spec'),
        'system',
        options,
      );
    const info = await this.current(slug);
    if (!info) throw new TemplateNotFoundError(slug, await this.slugs());
    return info;
  }

  /** A specific version (a sandbox keeps the version it was created from). */
  async version(slug: string, version: string): Promise<TemplateInfo> {
    const info = await this.readManifest(slug, version);
    if (!info) throw new TemplateNotFoundError(`${slug}@${version}`, await this.slugs());
    return info;
  }

  /** Every built version of `slug`, newest first. */
  async versions(slug: string): Promise<TemplateInfo[]> {
    const names = await readdir(join(this.dir, slug)).catch(() => [] as string[]);
    const infos = await Promise.all(names.map((v) => this.readManifest(slug, v)));
    return infos
      .filter((i): i is TemplateInfo => i !== null)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /**
   * Builds a custom template (or reuses the version built from the same definition) and makes
   * it the slug's current version. The log streams to `onLog`; failures are typed errors that
   * name the failing step.
   */
  async build(definition: TemplateDefinition, options: BuildOptions = {}): Promise<TemplateInfo> {
    if (definition.kind === 'spec') {
      const spec = parseOptions(templateSpecSchema, definition.spec, 'template spec');
      this.assertCustomSlug(spec.slug);
      return this.buildSpec(spec, 'spec', options);
    }
    if (definition.kind === 'dockerfile') return this.buildDockerfile(definition, options);
    throw new SandboxError(
      'invalid_options',
      'A template definition has kind "spec" or "dockerfile".',
    );
  }

  /**
   * Checks a definition without building it, so a bad one fails in seconds: the spec's shape,
   * its slug, its runtime versions, and that apt (in the OS's base), the npm registry and the
   * configured pip index know its packages; a Dockerfile's syntax. Throws the typed error a
   * build would (`template_invalid` naming the package and its package manager,
   * `template_runtime_unavailable`, `template_registry_unreachable`, ...). `build()` runs the
   * same checks first.
   *
   * @example
   * await store.validate({ kind: 'spec', spec: { slug: 'tools', os: 'debian-13', apt: ['jq'] } });
   */
  async validate(definition: TemplateDefinition, options: ValidateOptions = {}): Promise<void> {
    if (definition.kind === 'dockerfile') {
      parseOptions(templateSpecSchema.shape.slug, definition.slug, 'template slug');
      this.assertCustomSlug(definition.slug);
      parseDockerfile(definition.dockerfile);
      return;
    }
    if (definition.kind !== 'spec') {
      throw new SandboxError(
        'invalid_options',
        'A template definition has kind "spec" or "dockerfile".',
      );
    }
    const spec = parseOptions(templateSpecSchema, definition.spec, 'template spec');
    this.assertCustomSlug(spec.slug);
    await this.checkSpec(spec, options);
  }

  /** Runtime versions, npm and pip packages, then (on the base) apt packages. */
  private async checkSpec(
    spec: TemplateSpec,
    options: ValidateOptions,
  ): Promise<{ base: OsBase; plan: RuntimePlan }> {
    const plan = await checkSpec(spec, {
      ...(this.opts.npmRegistry ? { npmRegistry: this.opts.npmRegistry } : {}),
      ...(this.opts.pipIndexUrl ? { pipIndexUrl: this.opts.pipIndexUrl } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const base = await osBase(this.dir, spec.os, this.opts.mirrors);
    if (options.base === 'if-built' && !(await isBuilt(base))) return { base, plan };
    await ensureOsBase(spec.slug, base, {
      onLine: (l) => options.onLog?.(l),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    await checkAptPackages(spec.slug, base, aptPackages(spec, plan), options.signal);
    return { base, plan };
  }

  /**
   * Removes versions that are neither current nor used by a sandbox (`inUse`: `slug@version`).
   * Returns what was removed.
   */
  async gc(inUse: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const slug of await this.slugs()) {
      const current = (
        await readFile(join(this.dir, slug, 'current'), 'utf8').catch(() => '')
      ).trim();
      for (const info of await this.versions(slug)) {
        const key = `${slug}@${info.version}`;
        if (info.version === current || inUse.has(key) || this.building.has(key)) continue;
        await removeTree(join(this.dir, slug, info.version));
        removed.push(key);
      }
    }
    return removed;
  }

  /** Deletes a custom template and all its versions; refused while a sandbox uses one. */
  async delete(slug: string, inUse: ReadonlySet<string>): Promise<void> {
    this.assertCustomSlug(slug);
    const versions = await this.versions(slug);
    if (!versions.length) throw new TemplateNotFoundError(slug, await this.slugs());
    const used = versions.filter((v) => inUse.has(`${slug}@${v.version}`));
    if (used.length) {
      throw new SandboxError(
        'template_in_use',
        `Template "${slug}" is used by running or paused sandboxes; delete them first.`,
        {
          details: { template: slug, versions: used.map((v) => v.version) },
        },
      );
    }
    await removeTree(join(this.dir, slug));
  }

  private async current(slug: string): Promise<TemplateInfo | null> {
    const v = (await readFile(join(this.dir, slug, 'current'), 'utf8').catch(() => '')).trim();
    return v ? this.readManifest(slug, v) : null;
  }

  private async readManifest(slug: string, version: string): Promise<TemplateInfo | null> {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(slug) || !/^[0-9a-f]{16}$/.test(version)) return null;
    const text = await readFile(join(this.dir, slug, version, 'manifest.json'), 'utf8').catch(
      () => null,
    );
    return text ? (JSON.parse(text) as TemplateInfo) : null;
  }

  private assertCustomSlug(slug: string): void {
    if (SYSTEM_TEMPLATES[slug]) {
      throw new SandboxError(
        'template_exists',
        `"${slug}" is a system template; choose another slug for a custom template.`,
        {
          details: { template: slug },
        },
      );
    }
  }

  private buildSpec(
    spec: TemplateSpec,
    kind: 'system' | 'spec',
    options: BuildOptions,
  ): Promise<TemplateInfo> {
    // format 4: copied from a cached OS base (format 2: one mmdebstrap run per build; format 3
    // lost start-stop-daemon to its build-time stand-in when it installed packages).
    const version = hash({ kind, spec, idBase: this.opts.idBase, format: 4 });
    return this.buildVersion(spec.slug, version, options, async (rootfs) => {
      const { base, plan } = await this.checkSpec(spec, options);
      const { versions } = await buildSpec(spec, {
        outRootfs: rootfs,
        idBase: this.opts.idBase,
        base,
        plan,
        npmRegistry: this.opts.npmRegistry,
        pipIndexUrl: this.opts.pipIndexUrl,
        onLog: options.onLog,
        signal: options.signal,
      });
      return {
        kind,
        // Node.js ignores the system's CA store unless told; the system store is what the
        // build extended with the host's extra CAs.
        env: versions['extra-ca-certificates']
          ? { NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt', ...spec.env }
          : spec.env,
        cwd: spec.env.HOME ?? '/root',
        ...(spec.startCmd ? { startCmd: spec.startCmd } : {}),
        ...(spec.readyCmd ? { readyCmd: spec.readyCmd } : {}),
        versions,
      };
    });
  }

  private async buildDockerfile(
    def: Extract<TemplateDefinition, { kind: 'dockerfile' }>,
    options: BuildOptions,
  ): Promise<TemplateInfo> {
    parseOptions(templateSpecSchema.shape.slug, def.slug, 'template slug');
    this.assertCustomSlug(def.slug);
    const parsed = parseDockerfile(def.dockerfile); // a syntax error fails here, before any work
    const bases: Record<string, string> = {};
    for (const from of parsed.bases) {
      if (from === def.slug) {
        throw new SandboxError(
          'template_invalid',
          `Template "${def.slug}" cannot be built FROM itself.`,
          {
            details: { template: def.slug },
          },
        );
      }
      if (SYSTEM_TEMPLATES[from] || (await this.current(from)))
        bases[from] = (await this.get(from, options)).version;
    }
    const version = hash({
      kind: 'dockerfile',
      dockerfile: def.dockerfile,
      context: def.contextDir ? await hashDir(def.contextDir) : null,
      bases,
      idBase: this.opts.idBase,
      format: 2,
    });
    return this.buildVersion(def.slug, version, options, async (rootfs) => {
      const result = await buildDockerfile({
        slug: def.slug,
        dockerfile: def.dockerfile,
        ...(def.contextDir ? { contextDir: def.contextDir } : {}),
        resolveTemplate: async (slug) => {
          if (!bases[slug]) return null;
          const t = await this.version(slug, bases[slug]);
          return { rootfs: t.rootfs, version: t.version, env: t.env, cwd: t.cwd };
        },
        idBase: this.opts.idBase,
        outRootfs: rootfs,
        buildahRoot: join(this.dir, '.buildah'),
        ...(options.onLog ? { onLog: options.onLog } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      return { kind: 'dockerfile', env: result.env, cwd: result.cwd, versions: {} };
    });
  }

  /** Builds one version at most once at a time, into a temp dir renamed into place on success. */
  private buildVersion(
    slug: string,
    version: string,
    options: BuildOptions,
    produce: (
      rootfs: string,
    ) => Promise<Pick<TemplateInfo, 'kind' | 'env' | 'cwd' | 'startCmd' | 'readyCmd' | 'versions'>>,
  ): Promise<TemplateInfo> {
    const key = `${slug}@${version}`;
    const running = this.building.get(key);
    if (running) return running;
    const p = (async () => {
      const existing = await this.readManifest(slug, version);
      if (existing) {
        await this.setCurrent(slug, version);
        options.onLog?.(`template ${slug} ${version} is already built (cached)`);
        return existing;
      }
      const started = Date.now();
      await this.sweepBuilds();
      const tmp = join(this.dir, '.build', `${slug}-${version}-${process.pid}-${started}`);
      await mkdir(tmp, { recursive: true });
      try {
        const made = await produce(join(tmp, 'rootfs'));
        const du = await runCommand('du', ['-sb', join(tmp, 'rootfs')]);
        const info: TemplateInfo = {
          slug,
          version,
          ...made,
          rootfs: join(this.dir, slug, version, 'rootfs'),
          createdAt: new Date().toISOString(),
          sizeBytes: Number(du.stdout.split('\t')[0]) || 0,
          buildMs: Date.now() - started,
        };
        await writeFile(join(tmp, 'manifest.json'), JSON.stringify(info, null, 2));
        await mkdir(join(this.dir, slug), { recursive: true });
        await removeTree(join(this.dir, slug, version));
        await rename(tmp, join(this.dir, slug, version));
        await this.setCurrent(slug, version);
        options.onLog?.(
          `template ${slug} ${version} ready in ${(info.buildMs / 1000).toFixed(1)} s`,
        );
        return info;
      } catch (err) {
        options.onLog?.(`template ${slug} failed: ${(err as Error).message.split('\n')[0]}`);
        throw err;
      } finally {
        await removeTree(tmp);
      }
    })().finally(() => this.building.delete(key));
    this.building.set(key, p);
    return p;
  }

  /** Removes what builds of dead processes left in `.build` (a crash mid-build). */
  private async sweepBuilds(): Promise<void> {
    for (const name of await readdir(join(this.dir, '.build')).catch(() => [] as string[])) {
      const pid = Number(/-(\d+)-\d+$/.exec(name)?.[1]);
      if (pid && pid !== process.pid && !isAlive(pid))
        await removeTree(join(this.dir, '.build', name));
    }
  }

  private async setCurrent(slug: string, version: string): Promise<void> {
    const file = join(this.dir, slug, 'current');
    // Several engines (server processes) may share a templates dir and set the same pointer at
    // once: each writes its own temporary file, and the renames replace the pointer atomically.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, version);
    await rename(tmp, file);
  }
}

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/** Content hash of a build context: every file's path, mode and bytes. */
async function hashDir(dir: string): Promise<string> {
  const h = createHash('sha256');
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.map((e) => join(e.parentPath, e.name)).sort();
  for (const file of files) {
    const st = await stat(file);
    h.update(`${relative(dir, file)}\0${st.mode}\0`);
    if (st.isFile()) h.update(await readFile(file));
  }
  return h.digest('hex');
}
