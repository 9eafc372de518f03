import { createHash, randomBytes } from 'node:crypto';
import {
  chmod,
  lchown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { HostPrerequisiteError, InvalidOptionsError, SandboxError } from '../errors.ts';
import { type CommandResult, type RunCommandOptions, runCommand } from '../host/run-command.ts';
import { openBuildNetwork } from './build-network.ts';
import { buildahIsolation, isRuntimeNoise } from './buildah-isolation.ts';
import { shiftIds } from './shift-ids.ts';

/*
 * Dockerfile templates, built without a Docker daemon by buildah (vfs storage). RUN steps run
 * isolated as sandboxes are (`buildahIsolation`: OCI isolation with our runc, a user
 * namespace in the sandboxes' uid range, own pid/ipc/uts namespaces, the build's egress network):
 * a Dockerfile's author is not trusted with the host. The flow:
 *
 * 1. parse and validate the Dockerfile (typed `template_invalid` errors with line numbers);
 * 2. make every base local: a RunTools template is imported once as the buildah image
 *    `localhost/runtools-template/<slug>:<version>` (a copy of its root with owners shifted back
 *    to 0..), a registry image is pulled (failing fast when the registry can't be reached);
 * 3. `buildah bud` a rewritten Dockerfile (FROM lines point at the local images, no pulls);
 * 4. copy the built image's tree to `outRootfs` with owners shifted by `idBase`, then remove the
 *    working container and the built image. The imported/pulled bases stay cached.
 *
 * Builds sharing a buildah root run one at a time in this process: after a failure, whatever the
 * build left in buildah storage (containers, images) is found by comparing with what existed
 * before it, which is only sound when nothing else changes the storage meanwhile.
 */

export interface DockerfileBuildInput {
  slug: string;
  /** The Dockerfile's text. */
  dockerfile: string;
  /** Build context directory (COPY/ADD sources); default: an empty temporary directory. */
  contextDir?: string;
  /**
   * Looks up a RunTools template named in FROM (e.g. `FROM debian-13` or `FROM nodejs-20`): its
   * root filesystem (owners shifted by idBase) and version, or null when there is no such
   * template. When it also gives the template's `env` and `cwd`, the imported base image carries
   * them (so `FROM debian-13` starts from the template's environment).
   */
  resolveTemplate(slug: string): Promise<{
    rootfs: string;
    version: string;
    env?: Record<string, string>;
    cwd?: string;
  } | null>;
  idBase: number;
  /** Directory to create with the resulting root filesystem, owners shifted by idBase (must not exist yet). */
  outRootfs: string;
  /** buildah storage root (vfs); default `<dirname(outRootfs)>/.buildah`; the caller may share one across builds. */
  buildahRoot?: string;
  onLog?: (line: string) => void;
  signal?: AbortSignal;
  /** Limit for the `buildah bud` step; default 30 minutes. */
  timeoutMs?: number;
}

export interface DockerfileBase {
  kind: 'scratch' | 'template' | 'registry';
  /** As named in the Dockerfile (after ARG defaults are applied). */
  name: string;
  /** A template's version, or a registry image's id (so a change of the base changes the hash). */
  version?: string;
}

export interface DockerfileBuildResult {
  /** From the image config: ENV as a map, WORKDIR (default '/'), CMD/ENTRYPOINT, USER. */
  env: Record<string, string>;
  cwd: string;
  /** ENTRYPOINT followed by CMD, as Docker runs them. */
  cmd?: string[];
  user?: string;
  /** The base named in FROM (of the final stage) and, for a RunTools template, its version (so a rebuild of the base changes the hash). */
  from: DockerfileBase;
  /** Every external base the build used (all stages' FROM and `COPY --from=<image>`). */
  bases: DockerfileBase[];
}

export interface DockerfileInstruction {
  /** 1-based line where the instruction starts. */
  line: number;
  /** Upper case: `RUN`, `COPY`, ... */
  keyword: string;
  /** The arguments as written, continuation lines joined (like Docker's parser does). */
  args: string;
}

const DEFAULT_BUILD_TIMEOUT_MS = 30 * 60_000;
/** Until a pull shows progress (the registry answered): then it gets the long timeout. */
const PULL_CONNECT_TIMEOUT_MS = 25_000;
const PULL_TIMEOUT_MS = 20 * 60_000;
const SHORT_TIMEOUT_MS = 2 * 60_000;
const STORAGE_TIMEOUT_MS = 10 * 60_000;
const COPY_TIMEOUT_MS = 30 * 60_000;
/** The sandbox uid range: uid 0..65535 inside is idBase..idBase+65535 on disk. */
const ID_RANGE = 65536;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const TEMPLATE_IMAGE_PREFIX = 'localhost/runtools-template/';
const LOG_MARK = '==> ';

const INSTRUCTIONS = new Set([
  'FROM',
  'RUN',
  'CMD',
  'LABEL',
  'MAINTAINER',
  'EXPOSE',
  'ENV',
  'ADD',
  'COPY',
  'ENTRYPOINT',
  'VOLUME',
  'USER',
  'WORKDIR',
  'ARG',
  'ONBUILD',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'SHELL',
]);

// ---------------------------------------------------------------------------------------------
// Parsing

interface Stage {
  /** Index of the FROM instruction in `instructions`. */
  index: number;
  line: number;
  /** `--platform=...` and the like, as written. */
  flags: string[];
  /** The base after ARG substitution. */
  image: string;
  alias?: string;
  /** Index in `stages` of the earlier stage this one is built on (`FROM <stage name>`). */
  stage?: number;
}

interface ParsedDockerfile {
  escape: string;
  instructions: DockerfileInstruction[];
  stages: Stage[];
  /** Images the build needs, neither scratch nor a stage: FROM bases and `COPY --from=<image>`. */
  bases: Array<{ name: string; line: number }>;
}

function invalid(line: number, what: string): SandboxError {
  return new SandboxError('template_invalid', `Invalid Dockerfile, line ${line}: ${what}`, {
    details: { line, reason: what },
  });
}

/** Parses FROM lines (first stage and multi-stage) without building: for content hashing and validation. Throws a typed error for a syntax error. */
export function parseDockerfile(text: string): {
  /** The image of every FROM, in order, after ARG defaults (`scratch` and stage names included). */
  from: string[];
  /** The images the build uses, deduplicated: FROM bases and `COPY --from=<image>`, without `scratch` and stage names. */
  bases: string[];
  instructions: DockerfileInstruction[];
} {
  const parsed = parse(text);
  return {
    from: parsed.stages.map((s) => s.image),
    bases: [...new Set(parsed.bases.map((b) => b.name))],
    instructions: parsed.instructions,
  };
}

function parse(text: string): ParsedDockerfile {
  const lines = text.split(/\r\n|\n|\r/);
  let escapeChar = '\\';
  let i = 0;
  // Parser directives (`# escape=`` ` ``, `# syntax=...`) come first, before anything else.
  for (; i < lines.length; i++) {
    const m = /^\s*#\s*([a-zA-Z]+)\s*=\s*(\S*)\s*$/.exec(lines[i] as string);
    const name = m?.[1]?.toLowerCase();
    if (!m || !name || !['escape', 'syntax', 'check'].includes(name)) break;
    if (name === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`') {
        throw invalid(i + 1, `the escape directive must be \\ or \` (got "${m[2]}")`);
      }
      escapeChar = m[2];
    }
  }
  const continuation = new RegExp(`${escapeChar === '\\' ? '\\\\' : '`'}[ \\t]*$`);
  const instructions: DockerfileInstruction[] = [];
  let current: { line: number; text: string } | undefined;
  for (; i < lines.length; i++) {
    const raw = lines[i] as string;
    const trimmed = raw.trim();
    // Blank and comment lines are dropped, also between continuation lines (as Docker does).
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const cont = continuation.exec(raw);
    const body = cont ? raw.slice(0, cont.index) : raw;
    if (current) current.text += body;
    else current = { line: i + 1, text: body.trimStart() };
    if (cont) continue;
    instructions.push(toInstruction(current.line, current.text, instructions.at(-1)));
    current = undefined;
  }
  if (current) {
    throw invalid(
      current.line,
      `line continuation (${escapeChar}) at the end of the file: the instruction starting here never ends`,
    );
  }
  const stages = validate(instructions);
  const bases: ParsedDockerfile['bases'] = [];
  for (const stage of stages) {
    if (stage.image !== 'scratch' && stage.stage === undefined) {
      bases.push({ name: stage.image, line: stage.line });
    }
  }
  const aliases = new Set(stages.flatMap((st) => (st.alias ? [st.alias] : [])));
  for (const ins of instructions) {
    const from = ins.keyword === 'COPY' ? copyFromFlag(ins.args) : undefined;
    if (from === undefined || /^\d+$/.test(from) || aliases.has(from.toLowerCase())) continue;
    if (!isImageReference(from)) {
      throw invalid(ins.line, `COPY --from=${from} names neither a build stage nor an image`);
    }
    bases.push({ name: from, line: ins.line });
  }
  return { escape: escapeChar, instructions, stages, bases };
}

function toInstruction(
  line: number,
  text: string,
  previous: DockerfileInstruction | undefined,
): DockerfileInstruction {
  const m = /^(\S*)\s*([\s\S]*)$/.exec(text.trim()) as RegExpExecArray;
  const word = m[1] as string;
  const args = (m[2] as string).trim();
  if (!word) throw invalid(line, 'empty instruction');
  const keyword = word.toUpperCase();
  if (!INSTRUCTIONS.has(keyword)) {
    const hint =
      previous?.keyword === 'RUN' && previous.line === line - 1
        ? ` (is a line continuation "\\" missing at the end of line ${line - 1}?)`
        : '';
    throw invalid(
      line,
      `unknown instruction "${word}"${hint}. Known instructions: ${[...INSTRUCTIONS].join(', ')}`,
    );
  }
  if (!args) throw invalid(line, `${keyword} has no arguments (empty instruction)`);
  // Checked here, before the heredoc's body lines are taken for unknown instructions.
  if (
    ['RUN', 'COPY', 'ADD'].includes(keyword) &&
    /(?:^|\s)<<-?(["']?)[A-Za-z_][A-Za-z0-9_]*\1(?=\s|$)/.test(args)
  ) {
    throw invalid(
      line,
      `${keyword} with a heredoc (<<EOF) is not supported by this builder (buildah 1.28): ` +
        'join the commands with && or COPY a script from the build context',
    );
  }
  return { line, keyword, args };
}

function validate(instructions: DockerfileInstruction[]): Stage[] {
  const stages: Stage[] = [];
  const globalArgs = new Map<string, string | undefined>();
  const aliases = new Set<string>();
  if (!instructions.some((ins) => ins.keyword === 'FROM')) {
    const first = instructions.find((ins) => ins.keyword !== 'ARG');
    throw invalid(
      first?.line ?? instructions[0]?.line ?? 1,
      instructions.length
        ? 'missing FROM: a Dockerfile must start with FROM (e.g. "FROM debian-13" or "FROM scratch")'
        : 'the Dockerfile is empty: it must start with FROM (e.g. "FROM debian-13")',
    );
  }
  instructions.forEach((ins, index) => {
    const { line, keyword, args } = ins;
    if (!stages.length && keyword !== 'FROM') {
      if (keyword !== 'ARG') {
        throw invalid(line, `${keyword} before FROM: only ARG may come before the first FROM`);
      }
      for (const [name, value] of parseArgDeclarations(line, args)) globalArgs.set(name, value);
      return;
    }
    if (keyword === 'FROM') {
      const tokens = args.split(/\s+/);
      const flags: string[] = [];
      while (tokens[0]?.startsWith('--')) {
        const flag = tokens.shift() as string;
        if (!/^--platform=\S+$/.test(flag)) throw invalid(line, `FROM does not accept ${flag}`);
        flags.push(flag);
      }
      const [written, as, alias, ...rest] = tokens;
      if (!written || rest.length || (as !== undefined && (as.toLowerCase() !== 'as' || !alias))) {
        throw invalid(
          line,
          'FROM takes an image and optionally "AS <name>": FROM <image> [AS <name>]',
        );
      }
      const image = substituteArgs(line, written, globalArgs);
      const ref = aliases.has(image.toLowerCase())
        ? stages.findIndex((st) => st.alias === image.toLowerCase())
        : undefined;
      if (image.toLowerCase() !== 'scratch' && ref === undefined && !isImageReference(image)) {
        throw invalid(line, `"${image}" is not a valid image or template name`);
      }
      if (alias !== undefined) {
        if (!/^[a-zA-Z][a-zA-Z0-9_.-]*$/.test(alias)) {
          throw invalid(line, `invalid stage name "${alias}" (letters, digits, "_", "." and "-")`);
        }
        if (aliases.has(alias.toLowerCase())) {
          throw invalid(line, `the stage name "${alias}" is used twice`);
        }
        aliases.add(alias.toLowerCase());
      }
      stages.push({
        index,
        line,
        flags,
        image: image.toLowerCase() === 'scratch' ? 'scratch' : image,
        ...(alias ? { alias: alias.toLowerCase() } : {}),
        ...(ref !== undefined ? { stage: ref } : {}),
      });
      return;
    }
    if (keyword === 'ONBUILD') {
      const inner = (args.split(/\s+/)[0] ?? '').toUpperCase();
      if (!INSTRUCTIONS.has(inner) || ['ONBUILD', 'FROM', 'MAINTAINER'].includes(inner)) {
        throw invalid(line, `ONBUILD cannot run "${inner}"`);
      }
    }
  });
  return stages;
}

/** `ARG a`, `ARG a=1`, `ARG a="x y" b=2`: names and default values. */
function parseArgDeclarations(line: number, args: string): Array<[string, string | undefined]> {
  const out: Array<[string, string | undefined]> = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)(?:=("(?:[^"\\]|\\.)*"|'[^']*'|\S*))?(?:\s+|$)/y;
  let pos = 0;
  while (pos < args.length) {
    re.lastIndex = pos;
    const m = re.exec(args);
    if (!m || m[0] === '') throw invalid(line, `invalid ARG declaration "${args}"`);
    const value = m[2];
    out.push([
      m[1] as string,
      value === undefined
        ? undefined
        : /^(["']).*\1$/s.test(value)
          ? value.slice(1, -1).replace(/\\(.)/g, '$1')
          : value,
    ]);
    pos = re.lastIndex;
  }
  return out;
}

/** Applies the defaults of ARGs declared before the first FROM to a FROM image. */
function substituteArgs(line: number, word: string, args: Map<string, string | undefined>): string {
  const out = word.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_all, braced: string | undefined, op: string | undefined, alt: string, bare: string) => {
      const name = (braced ?? bare) as string;
      const value = args.get(name);
      if (op === '-') return value ? value : alt;
      if (op === '+') return value ? alt : '';
      if (value === undefined) {
        throw invalid(
          line,
          `FROM uses $${name}, which has no default: declare "ARG ${name}=<value>" before the first FROM (build arguments cannot be passed)`,
        );
      }
      return value;
    },
  );
  if (!out) throw invalid(line, `FROM ${word} names no image once ARG defaults are applied`);
  return out;
}

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REFERENCE = new RegExp(
  `^(?:([a-zA-Z0-9.-]+(?::[0-9]+)?)/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@([a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}))?$`,
);

function isImageReference(name: string): boolean {
  return REFERENCE.test(name) && name.length <= 255;
}

/** Docker's reading of an image name: `alpine` is `docker.io/library/alpine:latest`. */
function normalizeReference(name: string): { ref: string; host: string } {
  const m = REFERENCE.exec(name);
  if (!m) return { ref: name, host: 'docker.io' };
  const first = m[1];
  const tag = m[3];
  const digest = m[4];
  let path = m[2] as string;
  let host = 'docker.io';
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    host = first;
  } else if (first) {
    path = `${first}/${path}`;
  }
  if (host === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  const suffix = `${tag ? `:${tag}` : digest ? '' : ':latest'}${digest ? `@${digest}` : ''}`;
  return { ref: `${host}/${path}${suffix}`, host };
}

// ---------------------------------------------------------------------------------------------
// Building

/**
 * Builds `input.dockerfile` with buildah into `input.outRootfs` (owners shifted by `idBase`).
 * On failure nothing of the build is left: no outRootfs, no buildah container or image (the cached
 * base images stay).
 */
export async function buildDockerfile(input: DockerfileBuildInput): Promise<DockerfileBuildResult> {
  const parsed = parse(input.dockerfile);
  input.signal?.throwIfAborted();
  if (await exists(input.outRootfs)) {
    throw new InvalidOptionsError(`The output directory ${input.outRootfs} already exists.`, {
      outRootfs: input.outRootfs,
    });
  }
  if (input.contextDir !== undefined) {
    const st = await stat(input.contextDir).catch(() => null);
    if (!st?.isDirectory()) {
      throw new InvalidOptionsError(`The build context ${input.contextDir} is not a directory.`, {
        contextDir: input.contextDir,
      });
    }
  }
  const root = resolve(input.buildahRoot ?? join(dirname(input.outRootfs), '.buildah'));
  await assertBuildah();
  return withRootLock(root, input.signal, () => build(input, parsed, root));
}

/** Global flags of every buildah call on the storage `root` (also for tests and cleanup). */
export function buildahGlobalArgs(root: string): string[] {
  return ['--root', root, '--runroot', buildahRunRoot(root), '--storage-driver', 'vfs'];
}

/**
 * buildah's state directory for `root`: per root (roots sharing one corrupt each other's mount
 * bookkeeping), under /run (it must not outlive a reboot).
 */
export function buildahRunRoot(root: string): string {
  const id = createHash('sha256').update(resolve(root)).digest('hex').slice(0, 16);
  return join('/run/runtools-buildah', id);
}

interface Snapshot {
  containers: Set<string>;
  images: Set<string>;
}

async function build(
  input: DockerfileBuildInput,
  parsed: ParsedDockerfile,
  root: string,
): Promise<DockerfileBuildResult> {
  const { signal, onLog } = input;
  const log = (line: string) => {
    try {
      onLog?.(line);
    } catch {
      // a broken log consumer does not break the build
    }
  };
  const bx = (args: string[], opts: RunCommandOptions = {}) =>
    runCommand('buildah', [...buildahGlobalArgs(root), ...args], {
      timeoutMs: SHORT_TIMEOUT_MS,
      processGroup: true,
      ...opts,
    });
  await mkdir(root, { recursive: true });
  const before = await snapshot(bx);
  /** Images this build must not remove on failure: the cached bases. */
  const keep = new Set<string>();
  const id = randomBytes(6).toString('hex');
  const tag = `localhost/runtools-build/${imageNamePart(input.slug)}:${id}`;
  const work = await mkdtemp(join(tmpdir(), 'rt-dockerfile-'));
  const partial = `${input.outRootfs}.partial-${id}`;
  const exportCtr = `rt-export-${id}`;
  let built = false;
  let exported = false;
  let placed = false;
  try {
    // 1. Make every base local.
    const bases = await resolveBases(input, parsed, bx, keep, log);
    signal?.throwIfAborted();

    // 2. buildah bud on a rewritten Dockerfile that names the local images.
    const dockerfile = rewrite(parsed, bases.local);
    await writeFile(join(work, 'Dockerfile'), dockerfile);
    let contextDir = input.contextDir;
    if (contextDir === undefined) {
      contextDir = join(work, 'context');
      await mkdir(contextDir);
    }
    const timeoutMs = input.timeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS;
    // RUN steps run isolated as sandboxes are, in a network of the build's own.
    await using network = await openBuildNetwork();
    await using isolation = await buildahIsolation(network, input.idBase);
    const bud = await bx(
      [
        'bud',
        ...isolation.args,
        '--layers=false',
        '--force-rm',
        '--pull=never',
        // The docker format honours SHELL, ONBUILD and HEALTHCHECK; with the OCI format buildah
        // ignores SHELL even for the RUN steps of the same build.
        '--format',
        'docker',
        '-t',
        tag,
        '-f',
        join(work, 'Dockerfile'),
        contextDir,
      ],
      {
        timeoutMs,
        signal,
        onLine: (l) => {
          if (!isRuntimeNoise(l)) log(l);
        },
        merge: true,
        graceful: true,
      },
    );
    await isolation[Symbol.asyncDispose]();
    await network[Symbol.asyncDispose]();
    if (bud.aborted) signal?.throwIfAborted();
    if (bud.code !== 0) throw budFailed(input.slug, parsed, bases.local, bud, timeoutMs);
    built = true;

    // 3. The image config.
    const config = await imageConfig(bx, tag);

    // 4. Export the tree, shifted to the sandbox uid range.
    log(`${LOG_MARK}exporting the root filesystem to ${input.outRootfs}`);
    await check(
      bx(['from', '--pull=never', '--quiet', '--name', exportCtr, tag], { signal }),
      'buildah from',
      signal,
    );
    exported = true;
    const mountpoint = (
      await check(bx(['mount', exportCtr], { signal }), 'buildah mount', signal)
    ).stdout.trim();
    await mkdir(dirname(input.outRootfs), { recursive: true });
    await check(
      runCommand('cp', ['-a', '--', mountpoint, partial], {
        timeoutMs: COPY_TIMEOUT_MS,
        signal,
        processGroup: true,
      }),
      `copying the built root filesystem to ${partial}`,
      signal,
    );
    signal?.throwIfAborted();
    log(`${LOG_MARK}shifting file owners to the sandbox uid range (+${input.idBase})`);
    await shiftIds(partial, input.idBase);
    signal?.throwIfAborted();
    await rename(partial, input.outRootfs);
    placed = true;

    await bx(['umount', exportCtr]);
    await check(bx(['rm', exportCtr], { timeoutMs: STORAGE_TIMEOUT_MS }), 'buildah rm');
    exported = false;
    await check(bx(['rmi', tag], { timeoutMs: STORAGE_TIMEOUT_MS }), 'buildah rmi');
    built = false;
    log(`${LOG_MARK}template ${input.slug} built from its Dockerfile`);
    return { ...config, from: bases.final, bases: bases.external };
  } catch (err) {
    await rm(partial, { recursive: true, force: true }).catch(() => {});
    if (placed) await rm(input.outRootfs, { recursive: true, force: true }).catch(() => {});
    if (exported) await bx(['rm', exportCtr], { timeoutMs: STORAGE_TIMEOUT_MS }).catch(() => {});
    if (built) await bx(['rmi', tag], { timeoutMs: STORAGE_TIMEOUT_MS }).catch(() => {});
    await removeLeftovers(bx, before, keep).catch(() => {});
    throw err;
  } finally {
    await rm(work, { recursive: true, force: true }).catch(() => {});
  }
}

interface ResolvedBases {
  /** Written name -> local image for the rewritten Dockerfile. */
  local: Map<string, string>;
  external: DockerfileBase[];
  final: DockerfileBase;
}

async function resolveBases(
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

function copyFromFlag(args: string): string | undefined {
  for (const token of args.split(/\s+/)) {
    if (!token.startsWith('--')) return undefined;
    const m = /^--from=(.+)$/.exec(token);
    if (m) return m[1];
  }
  return undefined;
}

/** The Dockerfile buildah builds: the same instructions, bases replaced by the local images. */
function rewrite(parsed: ParsedDockerfile, local: Map<string, string>): string {
  const directives = parsed.escape === '\\' ? [] : [`# escape=${parsed.escape}`];
  return `${[...directives, ...rewriteInstructions(parsed, local)].join('\n')}\n`;
}

/** Each instruction on one line (continuations joined, as buildah's parser joins them). */
function rewriteInstructions(parsed: ParsedDockerfile, local: Map<string, string>): string[] {
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
async function importTemplate(
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
async function pullBase(
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

function budFailed(
  template: string,
  parsed: ParsedDockerfile,
  local: Map<string, string>,
  bud: CommandResult,
  timeoutMs: number,
): SandboxError {
  const output = bud.stdout;
  const lines = output.split('\n');
  const stepLines = lines
    .map((l, i) => {
      const m = /^(?:\[(\d+)\/\d+\] )?STEP (\d+)\/\d+: (.*)$/.exec(l);
      return m
        ? { at: i, stage: Number(m[1] ?? 1), step: Number(m[2]), text: m[3] as string }
        : null;
    })
    .filter((x) => x !== null);
  // The failing instruction, as written in the Dockerfile (buildah prints the rewritten one):
  // the last STEP announced (stage k, step n: the n-th instruction from the stage's FROM), checked
  // against buildah's error line; else the instruction that error line names.
  const rewritten = rewriteInstructions(parsed, local);
  const last = stepLines.at(-1);
  let index = -1;
  if (last) {
    const i = (parsed.stages[last.stage - 1]?.index ?? -1) + last.step - 1;
    if (i >= 0 && rewritten[i] === last.text) index = i;
  }
  if (index < 0) {
    index = rewritten.findLastIndex((text) => output.includes(`building at STEP "${text}": `));
  }
  const ins = parsed.instructions[index];
  const step = ins ? `${ins.keyword} ${ins.args}` : (last?.text ?? 'build');
  const line = ins?.line;
  // The output of the failing step: what follows its STEP line.
  const from = last?.at;
  const stepOutput = (from === undefined ? lines : lines.slice(from + 1))
    .filter(
      (l) =>
        !isRuntimeNoise(l) &&
        !/^(Getting image source signatures|Copying (blob|config)|Writing manifest|Storing signatures)/.test(
          l,
        ),
    )
    .slice(-20)
    .join('\n')
    .trim();
  const what = bud.timedOut
    ? `timed out after ${Math.round(timeoutMs / 1000)} s`
    : `failed${line ? ` (Dockerfile line ${line})` : ''}`;
  return new SandboxError(
    'template_build_failed',
    `Building template "${template}" ${what} at step "${step}":\n${stepOutput}`,
    {
      details: {
        template,
        step,
        ...(line ? { line } : {}),
        ...(bud.timedOut ? { timedOut: true } : {}),
        output: output.slice(-8000),
      },
    },
  );
}

async function imageConfig(
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

interface ImageConfig {
  Env?: string[] | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  User?: string;
}

// ---------------------------------------------------------------------------------------------
// buildah storage bookkeeping

type Buildah = (args: string[], opts?: RunCommandOptions) => Promise<CommandResult>;

async function listContainers(bx: Buildah): Promise<string[]> {
  const r = await check(bx(['containers', '--all', '--json']), 'buildah containers');
  const list = (JSON.parse(r.stdout || 'null') ?? []) as Array<{ id: string }>;
  return list.map((c) => c.id);
}

async function listImages(bx: Buildah): Promise<Array<{ id: string; names?: string[] | null }>> {
  const r = await check(bx(['images', '--all', '--json', '--no-trunc']), 'buildah images');
  return (JSON.parse(r.stdout || 'null') ?? []) as Array<{ id: string; names?: string[] | null }>;
}

async function snapshot(bx: Buildah): Promise<Snapshot> {
  return {
    containers: new Set(await listContainers(bx)),
    images: new Set((await listImages(bx)).map((i) => normalizeId(i.id))),
  };
}

/** Removes the containers and images that appeared since `before`, but not the cached bases. */
async function removeLeftovers(bx: Buildah, before: Snapshot, keep: Set<string>): Promise<void> {
  for (const id of await listContainers(bx)) {
    if (!before.containers.has(id)) await bx(['rm', id], { timeoutMs: STORAGE_TIMEOUT_MS });
  }
  const kept = new Set([...keep].map(normalizeId));
  for (const img of await listImages(bx)) {
    const id = normalizeId(img.id);
    if (!before.images.has(id) && !kept.has(id)) {
      await bx(['rmi', '--force', id], { timeoutMs: STORAGE_TIMEOUT_MS });
    }
  }
}

function normalizeId(id: string): string {
  return id.replace(/^sha256:/, '');
}

/** `lower-case`, only characters valid in an image name component. */
function imageNamePart(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '') || 'template'
  );
}

const rootLocks = new Map<string, Promise<void>>();

/** Runs `fn` after the other builds on the same buildah root in this process. */
async function withRootLock<T>(
  root: string,
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  const previous = rootLocks.get(root) ?? Promise.resolve();
  let release = () => {};
  const mine = new Promise<void>((r) => {
    release = r;
  });
  rootLocks.set(root, mine);
  try {
    await abortable(previous, signal);
  } catch (err) {
    void previous.then(release);
    throw err;
  }
  try {
    return await fn();
  } finally {
    release();
    if (rootLocks.get(root) === mine) rootLocks.delete(root);
  }
}

function abortable(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return p;
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
    );
  });
}

let buildahChecked: Promise<void> | undefined;

function assertBuildah(): Promise<void> {
  buildahChecked ??= runCommand('buildah', ['--version'], { timeoutMs: 30_000 }).then(
    (r) => {
      if (r.code !== 0) throw new Error(r.stdout || r.stderr);
    },
    (err: unknown) => {
      buildahChecked = undefined;
      throw new HostPrerequisiteError(
        'buildah is not installed (it builds Dockerfile templates)',
        'apt-get install buildah',
        err,
      );
    },
  );
  return buildahChecked;
}

/** Undoes shiftIds: owners idBase.. become 0.. again (setuid/setgid bits are kept). */
async function unshiftIds(root: string, base: number): Promise<void> {
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

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

// ---------------------------------------------------------------------------------------------
// Processes

/** The result of a helper command that must succeed; its failure is a `template_build_failed`. */
async function check(
  p: Promise<CommandResult>,
  what: string,
  signal?: AbortSignal,
): Promise<CommandResult> {
  const r = await p;
  if (r.code === 0) return r;
  if (r.aborted) {
    signal?.throwIfAborted();
    throw new DOMException('This operation was aborted', 'AbortError');
  }
  throw new SandboxError(
    'template_build_failed',
    `${what} failed${r.timedOut ? ' (timed out)' : ''}: ${`${r.stderr}\n${r.stdout}`.trim().slice(-2000)}`,
    { details: { step: what, output: `${r.stdout}\n${r.stderr}`.slice(-8000) } },
  );
}
