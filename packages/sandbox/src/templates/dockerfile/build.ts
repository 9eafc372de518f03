import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { InvalidOptionsError, SandboxError } from '../../errors.ts';
import { type CommandResult, type RunCommandOptions, runCommand } from '../../host/run-command.ts';
import { openBuildNetwork } from '../build-network.ts';
import { buildahIsolation, isRuntimeNoise } from '../buildah-isolation.ts';
import { shiftIds } from '../shift-ids.ts';
import { imageConfig, imageNamePart, resolveBases, rewrite, rewriteInstructions } from './bases.ts';
import {
  COPY_TIMEOUT_MS,
  DEFAULT_BUILD_TIMEOUT_MS,
  LOG_MARK,
  SHORT_TIMEOUT_MS,
  STORAGE_TIMEOUT_MS,
} from './limits.ts';
import { type ParsedDockerfile, parse } from './parse.ts';
import {
  assertBuildah,
  buildahGlobalArgs,
  check,
  exists,
  removeLeftovers,
  snapshot,
  withRootLock,
} from './storage.ts';

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

export async function build(
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

export function budFailed(
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

export function abortable(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
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
