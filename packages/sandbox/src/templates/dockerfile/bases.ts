import { randomBytes } from 'node:crypto';
import { chmod, lchown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SandboxError } from '../../errors.ts';
import { runCommand } from '../../host/run-command.ts';
import type { DockerfileBase, DockerfileBuildInput, DockerfileBuildResult } from './build.ts';
import {
  COPY_TIMEOUT_MS,
  DEFAULT_PATH,
  ID_RANGE,
  LOG_MARK,
  PULL_CONNECT_TIMEOUT_MS,
  PULL_TIMEOUT_MS,
  STORAGE_TIMEOUT_MS,
  TEMPLATE_IMAGE_PREFIX,
} from './limits.ts';
import type { ParsedDockerfile } from './parse.ts';
import { type Buildah, check, listImages } from './storage.ts';
import { normalizeReference } from './validate.ts';

/** Making every base of a build local: RunTools templates imported, registry images pulled. */

export interface ResolvedBases {
  /** Written name -> local image for the rewritten Dockerfile. */
  local: Map<string, string>;
  external: DockerfileBase[];
  final: DockerfileBase;
}

export async function resolveBases(
  input: DockerfileBuildInput,
  parsed: ParsedDockerfile,
  bx: Buildah,
  keep: Set<string>,
  log: (line: string) => void,
): Promise<ResolvedBases> {
  const local = new Map<string, string>();
  const byName = new Map<string, DockerfileBase>();
  const stageBases: DockerfileBase[] = [];
  const resolveOne = async (name: string, line: number): Promise<DockerfileBase> => {
    const known = byName.get(name);
    if (known) return known;
    let base: DockerfileBase;
    const template = /^[a-z0-9][a-z0-9._-]*$/.test(name) ? await input.resolveTemplate(name) : null;
    if (template) {
      const image = await importTemplate(bx, name, template, input, keep, log);
      local.set(name, image);
      base = { kind: 'template', name, version: template.version };
    } else {
      const { ref, host } = normalizeReference(name);
      const imageId = await pullBase(bx, input, name, ref, host, line, log);
      keep.add(imageId);
      local.set(name, ref);
      base = { kind: 'registry', name, version: imageId };
    }
    byName.set(name, base);
    return base;
  };
  for (const { name, line } of parsed.bases) {
    input.signal?.throwIfAborted();
    await resolveOne(name, line);
  }
  for (const stage of parsed.stages) {
    stageBases.push(
      stage.image === 'scratch'
        ? { kind: 'scratch', name: 'scratch' }
        : stage.stage !== undefined
          ? (stageBases[stage.stage] as DockerfileBase)
          : (byName.get(stage.image) as DockerfileBase),
    );
  }
  return { local, external: [...byName.values()], final: stageBases.at(-1) as DockerfileBase };
}

export function copyFromFlag(args: string): string | undefined {
  for (const token of args.split(/\s+/)) {
    if (!token.startsWith('--')) return undefined;
    const m = /^--from=(.+)$/.exec(token);
    if (m) return m[1];
  }
  return undefined;
}

/** The Dockerfile buildah builds: the same instructions, bases replaced by the local images. */
export function rewrite(parsed: ParsedDockerfile, local: Map<string, string>): string {
  const directives = parsed.escape === '\\' ? [] : [`# escape=${parsed.escape}`];
  return `${[...directives, ...rewriteInstructions(parsed, local)].join('\n')}\n`;
}

/** Each instruction on one line (continuations joined, as buildah's parser joins them). */
export function rewriteInstructions(
  parsed: ParsedDockerfile,
  local: Map<string, string>,
): string[] {
  return parsed.instructions.map((ins, index) => {
    const stage = parsed.stages.find((s) => s.index === index);
    if (stage) {
      const image =
        stage.stage !== undefined
          ? (parsed.stages[stage.stage]?.alias as string)
          : (local.get(stage.image) ?? stage.image);
      return ['FROM', ...stage.flags, image, ...(stage.alias ? ['AS', stage.alias] : [])].join(' ');
    }
    let args = ins.args;
    const from = ins.keyword === 'COPY' ? copyFromFlag(args) : undefined;
    const image = from === undefined ? undefined : local.get(from);
    if (image) args = args.replace(`--from=${from}`, `--from=${image}`);
    return `${ins.keyword} ${args}`;
  });
}

/** Imports a template's root as `localhost/runtools-template/<slug>:<version>`, once. */
export async function importTemplate(
  bx: Buildah,
  slug: string,
  template: { rootfs: string; version: string; env?: Record<string, string>; cwd?: string },
  input: DockerfileBuildInput,
  keep: Set<string>,
  log: (line: string) => void,
): Promise<string> {
  const repo = `${TEMPLATE_IMAGE_PREFIX}${imageNamePart(slug)}`;
  const image = `${repo}:${imageNamePart(template.version).slice(0, 128)}`;
  const existing = await bx(['inspect', '--type', 'image', '--format', '{{.FromImageID}}', image]);
  if (existing.code === 0) {
    keep.add(existing.stdout.trim());
    return image;
  }
  log(
    `${LOG_MARK}importing template ${slug} (version ${template.version}) as the base image ${image}`,
  );
  const started = Date.now();
  const ctr = `rt-import-${randomBytes(6).toString('hex')}`;
  let created = false;
  try {
    await check(
      bx(['from', '--name', ctr, 'scratch'], { signal: input.signal }),
      'buildah from scratch',
      input.signal,
    );
    created = true;
    const mountpoint = (await check(bx(['mount', ctr]), 'buildah mount')).stdout.trim();
    // A copy: the shared template directory itself is never changed.
    await check(
      runCommand('cp', ['-a', '--', `${template.rootfs}/.`, `${mountpoint}/`], {
        timeoutMs: COPY_TIMEOUT_MS,
        signal: input.signal,
        processGroup: true,
      }),
      `copying template ${slug}`,
      input.signal,
    );
    await unshiftIds(mountpoint, input.idBase);
    input.signal?.throwIfAborted();
    const env = { PATH: DEFAULT_PATH, ...template.env };
    await check(
      bx([
        'config',
        ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
        ...(template.cwd ? ['--workingdir', template.cwd] : []),
        '--label',
        `io.runtools.template=${slug}@${template.version}`,
        ctr,
      ]),
      'buildah config',
    );
    await bx(['umount', ctr]);
    const commit = await check(
      bx(['commit', '--quiet', '--format', 'docker', '--rm', ctr, image], {
        timeoutMs: STORAGE_TIMEOUT_MS,
        signal: input.signal,
      }),
      'buildah commit',
      input.signal,
    );
    created = false;
    keep.add(commit.stdout.trim().split('\n').at(-1) ?? '');
  } catch (err) {
    if (created) await bx(['rm', ctr], { timeoutMs: STORAGE_TIMEOUT_MS }).catch(() => {});
    throw err;
  }
  log(`${LOG_MARK}imported ${slug} in ${Date.now() - started} ms`);
  // Older versions of the same template are no longer needed as bases.
  for (const img of await listImages(bx)) {
    for (const name of img.names ?? []) {
      if (name.startsWith(`${repo}:`) && name !== image) {
        await bx(['rmi', name], { timeoutMs: STORAGE_TIMEOUT_MS }).catch(() => {});
      }
    }
  }
  return image;
}

/**
 * Pulls a registry base (kept cached: pull policy "missing"). Fails within ~25 s when the registry
 * does not answer (buildah's own retries could take minutes): `template_base_unreachable`.
 */
export async function pullBase(
  bx: Buildah,
  input: DockerfileBuildInput,
  name: string,
  ref: string,
  host: string,
  line: number,
  log: (line: string) => void,
): Promise<string> {
  log(`${LOG_MARK}${name} is not a RunTools template: pulling ${ref} from ${host}`);
  let answered = false;
  // buildah 1.28 reads `--retry 0` (and `--retry-delay 0s`) as "unset": 3 retries 2 s apart.
  const retry = ['--retry', '1', '--retry-delay', '500ms'];
  const r = await bx(['pull', ...retry, '--policy', 'missing', ref], {
    timeoutMs: PULL_TIMEOUT_MS,
    signal: input.signal,
    merge: true,
    onLine: (l) => {
      // Once blobs are being copied the registry is there: the long timeout applies.
      if (/^(Getting image source signatures|Copying (blob|config))/.test(l)) answered = true;
      log(l);
    },
    deadline: { ms: PULL_CONNECT_TIMEOUT_MS, unless: () => answered },
  });
  if (r.aborted) input.signal?.throwIfAborted();
  if (r.code === 0) {
    const inspected = await check(
      bx(['inspect', '--type', 'image', '--format', '{{.FromImageID}}', ref]),
      'buildah inspect',
    );
    return inspected.stdout.trim();
  }
  const output = r.stdout.trim();
  const reason =
    output
      .split('\n')
      .reverse()
      .find((l) => /error/i.test(l))
      ?.replace(/^Error:\s*/, '') ??
    (r.timedOut
      ? `no answer within ${Math.round(PULL_CONNECT_TIMEOUT_MS / 1000)} s`
      : output.slice(-500));
  const notFound =
    !r.timedOut &&
    /manifest unknown|not found|unauthorized|denied|authentication required/i.test(reason) &&
    !/no such host|dial tcp|i\/o timeout|connection refused|network is unreachable|TLS handshake/i.test(
      reason,
    );
  const details = {
    template: input.slug,
    image: name,
    reference: ref,
    registry: host,
    line,
    output: output.slice(-8000),
  };
  if (notFound) {
    throw new SandboxError(
      'template_base_not_found',
      `Dockerfile line ${line}: the base image ${ref} does not exist in registry ${host} (or needs credentials), and "${name}" is not a RunTools template: ${reason}`,
      { details },
    );
  }
  throw new SandboxError(
    'template_base_unreachable',
    `Dockerfile line ${line}: cannot pull the base image ${ref}: registry ${host} is unreachable from this machine (${r.timedOut ? `no answer within ${Math.round(PULL_CONNECT_TIMEOUT_MS / 1000)} s` : reason}). "${name}" is not a RunTools template; use one as the base (e.g. FROM debian-13) or make ${host} reachable.`,
    { details },
  );
}

export async function imageConfig(
  bx: Buildah,
  image: string,
): Promise<Omit<DockerfileBuildResult, 'from' | 'bases'>> {
  const r = await check(bx(['inspect', '--type', 'image', image]), 'buildah inspect');
  const info = JSON.parse(r.stdout) as {
    Docker?: { config?: ImageConfig };
    OCIv1?: { config?: ImageConfig };
  };
  const config = info.Docker?.config ?? info.OCIv1?.config ?? {};
  const env: Record<string, string> = {};
  for (const entry of config.Env ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  const cmd = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  return {
    env,
    cwd: config.WorkingDir || '/',
    ...(cmd.length ? { cmd } : {}),
    ...(config.User ? { user: config.User } : {}),
  };
}

export interface ImageConfig {
  Env?: string[] | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  User?: string;
}

// ---------------------------------------------------------------------------------------------
// buildah storage bookkeeping

/** `lower-case`, only characters valid in an image name component. */
export function imageNamePart(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '') || 'template'
  );
}

/** Undoes shiftIds: owners idBase.. become 0.. again (setuid/setgid bits are kept). */
export async function unshiftIds(root: string, base: number): Promise<void> {
  const back = (id: number) => (id >= base && id < base + ID_RANGE ? id - base : id);
  const visit = async (path: string): Promise<void> => {
    const st = await lstat(path);
    const uid = back(st.uid);
    const gid = back(st.gid);
    if (uid !== st.uid || gid !== st.gid) {
      await lchown(path, uid, gid);
      if (!st.isSymbolicLink() && st.mode & 0o6000) await chmod(path, st.mode & 0o7777);
    }
    if (st.isDirectory()) {
      const names = await readdir(path);
      for (let i = 0; i < names.length; i += 64) {
        await Promise.all(names.slice(i, i + 64).map((n) => visit(join(path, n))));
      }
    }
  };
  await visit(root);
}
