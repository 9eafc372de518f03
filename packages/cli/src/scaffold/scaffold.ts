import { existsSync, realpathSync } from 'node:fs';
import { appendFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { findPackageJSON } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { RunToolsError } from '@runtools/sdk';
import { projectFiles } from './project-files.ts';

/** npm's rule for package names (lowercase, URL-safe, optionally scoped). */
const packageName = /^(?:@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;

/** True when `name` can be a package name. */
export function isValidProjectName(name: string): boolean {
  return name.length <= 214 && packageName.test(name);
}

/** A package name made from a directory's name (`My Agents` → `my-agents`). */
export function projectNameFor(dir: string): string {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9-._~]+/g, '-')
    .replace(/^[-._]+|-+$/g, '');
  return name || 'runtools-project';
}

export interface ScaffoldOptions {
  dir: string;
  name: string;
  model?: string;
  /** Overwrite files that exist (default: refuse, listing them). */
  force?: boolean;
}

export interface ScaffoldResult {
  /** Files written (relative to `dir`), overwritten ones included. */
  written: string[];
  /** Of `written`, those that existed before. */
  overwritten: string[];
  /** `.gitignore` existed and got the lines it lacked. */
  gitignoreUpdated: boolean;
  /** Packages linked into `node_modules/` from this CLI's installation (the project had none). */
  linked: Array<{ name: string; target: string }>;
}

/** Files a scaffold would overwrite (`files_exist`, exit code 1): nothing was written. */
export class ExistingFilesError extends RunToolsError {
  readonly files: string[];
  constructor(dir: string, files: string[]) {
    super(
      'files_exist',
      `${files.length === 1 ? 'This file exists' : 'These files exist'} in ${dir} and would be overwritten: ${files.join(', ')}. Nothing was written; run again with --force to overwrite ${files.length === 1 ? 'it' : 'them'}.`,
      { details: { files } },
    );
    this.name = 'ExistingFilesError';
    this.files = files;
  }
}

/** The project files under `dir` that exist already (`.gitignore` is merged, never overwritten). */
export function existingProjectFiles(dir: string): string[] {
  return Object.keys(projectFiles({ name: 'x' })).filter(
    (file) => file !== '.gitignore' && existsSync(join(dir, file)),
  );
}

/**
 * Writes a new project into `dir` (created if needed): `runtools.config.ts`,
 * `agents/code-assistant.ts`, `templates/Dockerfile.example`, `package.json`, `tsconfig.json` and
 * `.gitignore`. Existing files are never overwritten without `force` (an `ExistingFilesError`
 * lists them before anything is written); an existing `.gitignore` gets the lines it lacks. When
 * `@runtools/sdk` (or `@types/node`) does not resolve from `dir`, `node_modules/` gets a link to
 * the copy this CLI uses, so the project runs from a checkout before any package is published.
 */
export async function scaffoldProject(options: ScaffoldOptions): Promise<ScaffoldResult> {
  const dir = resolve(options.dir);
  const files = projectFiles({ name: options.name, model: options.model ?? 'auto' });
  const existing = existingProjectFiles(dir);
  if (existing.length && !options.force) throw new ExistingFilesError(dir, existing);
  const result: ScaffoldResult = {
    written: [],
    overwritten: existing,
    gitignoreUpdated: false,
    linked: [],
  };
  for (const [file, text] of Object.entries(files)) {
    const path = join(dir, file);
    await mkdir(dirname(path), { recursive: true });
    if (file === '.gitignore' && existsSync(path)) {
      const current = await readFile(path, 'utf8');
      const have = new Set(current.split('\n').map((l) => l.trim()));
      const missing = text.split('\n').filter((l) => l && !have.has(l) && !have.has(`/${l}`));
      if (missing.length) {
        const sep = current === '' || current.endsWith('\n') ? '' : '\n';
        await appendFile(path, `${sep}${missing.join('\n')}\n`);
        result.gitignoreUpdated = true;
      }
      continue;
    }
    await writeFile(path, text);
    result.written.push(file);
  }
  for (const name of LINKED_PACKAGES) {
    const target = await linkIfMissing(dir, name);
    if (target) result.linked.push({ name, target });
  }
  return result;
}

/**
 * What a project needs before `npm install` can work (nothing is published yet): `@runtools/sdk`
 * to run its agents, `@types/node` for editors and `tsc` (the SDK ships TypeScript sources).
 */
const LINKED_PACKAGES = ['@runtools/sdk', '@types/node'] as const;

/**
 * Links `dir/node_modules/NAME` to this CLI's copy of package NAME when no `node_modules/NAME`
 * exists in `dir` or above it; returns the link's target, or undefined when nothing was done.
 */
export async function linkIfMissing(dir: string, name: string): Promise<string | undefined> {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules', name, 'package.json'))) return undefined;
    if (dirname(d) === d) break;
  }
  let manifest: string | undefined;
  try {
    manifest = findPackageJSON(name, import.meta.url);
  } catch {
    return undefined;
  }
  if (!manifest) return undefined;
  const target = realpathSync(dirname(manifest));
  await mkdir(dirname(join(dir, 'node_modules', name)), { recursive: true });
  await symlink(target, join(dir, 'node_modules', name), 'dir');
  return target;
}
