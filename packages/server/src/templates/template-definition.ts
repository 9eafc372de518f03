import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  parseDockerfile,
  type SandboxEngine,
  SYSTEM_TEMPLATES,
  type TemplateDefinition,
  type TemplateSpecInput,
  templateSpecSchema,
} from '@runtools/sandbox';
import { RunToolsError } from '@runtools/sdk';
import type { StoredContextFile, StoredTemplateDefinition } from '../store/templates.ts';

/** A build context file as the API takes it: UTF-8 text, or content in an encoding with a mode. */
export type ContextFileInput =
  | string
  | { content: string; encoding?: 'utf8' | 'base64' | undefined; mode?: number | undefined };

export type TemplateDefinitionInput =
  | { spec: Record<string, unknown>; dockerfile?: undefined; files?: undefined }
  | {
      spec?: undefined;
      dockerfile: string;
      files?: Record<string, ContextFileInput> | undefined;
    };

/** Limits of a build context sent in a request body. */
export const maxContextFiles = 10_000;
export const maxContextPathLength = 1024;

/**
 * Validates a definition sent to the API and normalises it to what is stored: a spec with its
 * defaults applied (so an omitted field and its default are the same definition), or a Dockerfile
 * that parses (a syntax error is a 400 `template_invalid` naming the line) with its context files
 * decoded to base64 with explicit modes.
 */
export function normalizeDefinition(
  slug: string,
  input: TemplateDefinitionInput,
): StoredTemplateDefinition {
  if (SYSTEM_TEMPLATES[slug] !== undefined) {
    throw new RunToolsError(
      'template_exists',
      `"${slug}" is a system template; choose another slug for a custom template.`,
      { details: { template: slug } },
    );
  }
  if (input.spec !== undefined) {
    if (input.spec.slug !== undefined && input.spec.slug !== slug) {
      throw invalidInput('spec.slug', `must be "${slug}" (the template's slug) or left out`);
    }
    const parsed = templateSpecSchema.safeParse({ ...input.spec, slug });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw invalidInput(
        ['spec', ...(issue?.path ?? []).map(String)].join('.'),
        issue?.message ?? 'invalid',
      );
    }
    return { kind: 'spec', spec: parsed.data as Record<string, unknown> };
  }
  const dockerfile = input.dockerfile ?? '';
  // Throws the sandbox's `template_invalid` with the line of the first syntax error.
  parseDockerfile(dockerfile);
  const files: Record<string, StoredContextFile> = {};
  const entries = Object.entries(input.files ?? {});
  if (entries.length > maxContextFiles) {
    throw invalidInput('files', `at most ${maxContextFiles} files`);
  }
  for (const [path, file] of entries) {
    checkContextPath(path);
    files[path] = toStoredFile(path, file);
  }
  const paths = Object.keys(files);
  const set = new Set(paths);
  for (const path of paths) {
    for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
      if (set.has(path.slice(0, i))) {
        throw invalidInput(`files.${path}`, `"${path.slice(0, i)}" is a file, not a directory`);
      }
    }
  }
  return { kind: 'dockerfile', dockerfile, files };
}

/**
 * Checks a spec against what the engine's package sources know, before it is stored, so a spec
 * naming a package that does not exist is refused at once (a 400 `template_invalid` naming the
 * package) instead of failing its build a minute later. Only `template_invalid` is thrown here:
 * an unreachable registry or mirror, or an OS base this server has not built yet (the apt
 * check needs its package lists), is left to the build, which reports it with its log.
 */
export async function checkDefinition(
  engine: SandboxEngine,
  definition: StoredTemplateDefinition,
): Promise<void> {
  if (definition.kind !== 'spec') return; // a Dockerfile was parsed by normalizeDefinition
  try {
    await engine.templates.validate(
      { kind: 'spec', spec: definition.spec as unknown as TemplateSpecInput },
      { base: 'if-built' },
    );
  } catch (error) {
    // Bad input is refused now; a mirror or registry that is down is the build's to report.
    if (
      RunToolsError.isInstance(error) &&
      (error.code === 'template_invalid' || error.code === 'template_runtime_unavailable')
    )
      throw error;
  }
}

function checkContextPath(path: string): void {
  const bad = (why: string) => invalidInput(`files.${path}`, why);
  if (path.length === 0 || path.length > maxContextPathLength) {
    throw bad(`a path of 1 to ${maxContextPathLength} characters`);
  }
  if (path.includes('\0')) throw bad('must not contain NUL characters');
  if (path.startsWith('/')) throw bad('must be relative to the build context');
  for (const part of path.split('/')) {
    if (part === '' || part === '.' || part === '..') {
      throw bad('must be a normalised relative path (no "", "." or ".." segments)');
    }
  }
}

function toStoredFile(path: string, file: ContextFileInput): StoredContextFile {
  if (typeof file === 'string') {
    return { base64: Buffer.from(file, 'utf8').toString('base64'), mode: 0o644 };
  }
  const mode = file.mode ?? 0o644;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw invalidInput(`files.${path}.mode`, 'a file mode from 0 to 0o7777');
  }
  if (file.encoding === 'base64') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(file.content) || file.content.length % 4 !== 0) {
      throw invalidInput(`files.${path}.content`, 'not base64');
    }
    return { base64: file.content, mode };
  }
  return { base64: Buffer.from(file.content, 'utf8').toString('base64'), mode };
}

function invalidInput(field: string, message: string): RunToolsError {
  return new RunToolsError('invalid_input', `Invalid body: ${field}: ${message}`, {
    details: { issues: [{ field, message }] },
  });
}

/** The definition as the API shows it: the spec, or the Dockerfile and the context's paths. */
export function describeDefinition(definition: StoredTemplateDefinition): {
  spec?: Record<string, unknown>;
  dockerfile?: string;
  files?: string[];
} {
  if (definition.kind === 'spec') return { spec: definition.spec };
  return { dockerfile: definition.dockerfile, files: Object.keys(definition.files).sort() };
}

/** A build input for the engine; for a Dockerfile, its context written to a new temp dir. */
export interface MaterializedDefinition extends AsyncDisposable {
  readonly definition: TemplateDefinition;
}

/**
 * Turns a stored definition into the engine's. The context files get their stored modes and the
 * directories 0755 whatever the umask: the engine hashes the context (paths, modes, bytes) into
 * the template's version, so the same definition must give the same tree on every server.
 */
export async function materializeDefinition(
  slug: string,
  definition: StoredTemplateDefinition,
): Promise<MaterializedDefinition> {
  if (definition.kind === 'spec') {
    return {
      definition: { kind: 'spec', spec: definition.spec as unknown as TemplateSpecInput },
      [Symbol.asyncDispose]: async () => {},
    };
  }
  const contextDir = await mkdtemp(join(tmpdir(), 'rt-template-context-'));
  const dispose = () => rm(contextDir, { recursive: true, force: true });
  try {
    for (const [path, file] of Object.entries(definition.files)) {
      const target = join(contextDir, path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, Buffer.from(file.base64, 'base64'));
      await chmod(target, file.mode);
    }
    const entries = await readdir(contextDir, { recursive: true, withFileTypes: true });
    for (const entry of entries) {
      if (entry.isDirectory()) await chmod(join(entry.parentPath, entry.name), 0o755);
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    definition: { kind: 'dockerfile', slug, dockerfile: definition.dockerfile, contextDir },
    [Symbol.asyncDispose]: dispose,
  };
}
