import { readdir, readFile, stat } from 'node:fs/promises';
import { registerHooks } from 'node:module';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type AgentDefinition,
  AgentDefinitionError,
  isAgentDefinition,
  type ProjectConfig,
  projectConfigSchema,
  RunToolsError,
} from '@runtools/sdk';

/** A problem with one file of a project; a project load reports all of them at once. */
export interface ProjectProblem {
  /** Path relative to the project root. */
  file: string;
  code: string;
  message: string;
}

export interface ProjectAgent {
  agent: AgentDefinition & { template: string };
  /** Path relative to the project root. */
  file: string;
}

export interface ProjectTemplate {
  slug: string;
  /** The Dockerfile's directory: the build context. */
  dir: string;
  dockerfile: string;
}

export interface LoadedProject {
  root: string;
  config: ProjectConfig;
  agents: ProjectAgent[];
  templates: ProjectTemplate[];
  /** Broken files; what loaded fine is still in `agents`/`templates`. */
  problems: ProjectProblem[];
}

/** A project that cannot be used as it is (`invalid_project`), with every problem listed. */
export class ProjectLoadError extends RunToolsError {
  readonly problems: ProjectProblem[];
  constructor(problems: ProjectProblem[]) {
    super(
      'invalid_project',
      `The project has ${problems.length} problem(s):\n${problems.map((p) => `  ${p.file}: ${p.message}`).join('\n')}`,
      { details: { problems } },
    );
    this.name = 'ProjectLoadError';
    this.problems = problems;
  }
}

/**
 * Loads a project: `runtools.config.ts`, `agents/NAME.ts` and `agents/NAME/index.ts` (default
 * export `defineAgent(...)`), `templates/NAME/Dockerfile`. TypeScript is loaded by Node itself.
 * Every broken file is reported (not only the first), and two agents with one slug are refused.
 * Each load imports the project's files afresh, those the agent files import too (`tools.ts`,
 * `prompts.ts`; not packages), so an edit of any of them is picked up without a restart.
 * A project without its own `@runtools/sdk` (or `zod`) gets the one this package uses.
 */
export async function loadProject(root: string): Promise<LoadedProject> {
  registerLoaderHooks();
  const version = String(++loadGeneration);
  const problems: ProjectProblem[] = [];
  const config = await loadConfig(root, problems, version);
  const agents: ProjectAgent[] = [];
  for (const file of await agentFiles(root)) {
    const rel = relative(root, file);
    try {
      const mod = (await import(versioned(file, version))) as { default?: unknown };
      if (!isAgentDefinition(mod.default)) {
        problems.push({
          file: rel,
          code: 'invalid_agent',
          message:
            'the default export is not an agent: export default defineAgent({ ... }) from @runtools/sdk',
        });
        continue;
      }
      agents.push({
        agent: { ...mod.default, template: mod.default.template ?? config.defaultTemplate },
        file: rel,
      });
    } catch (err) {
      problems.push(describeImportError(rel, err));
    }
  }
  const bySlug = new Map<string, string>();
  for (const a of agents) {
    const other = bySlug.get(a.agent.slug);
    if (other) {
      problems.push({
        file: a.file,
        code: 'duplicate_agent',
        message: `slug "${a.agent.slug}" is already used by ${other}; slugs must be unique`,
      });
    } else bySlug.set(a.agent.slug, a.file);
  }
  const unique = agents.filter((a) => bySlug.get(a.agent.slug) === a.file);
  return { root, config, agents: unique, templates: await templateDirs(root), problems };
}

/** Like `loadProject`, but any problem is a `ProjectLoadError`. */
export async function loadProjectStrict(root: string): Promise<LoadedProject> {
  const project = await loadProject(root);
  if (project.problems.length) throw new ProjectLoadError(project.problems);
  return project;
}

/** Counts loads: the version every project file of one load is imported under. */
let loadGeneration = 0;
let hooksRegistered = false;
const versionParam = 'rtv';

/** `file` as an import URL of load `version`: a new module, not the one cached by an earlier load. */
function versioned(file: string, version: string): string {
  const url = pathToFileURL(file);
  url.searchParams.set(versionParam, version);
  return url.href;
}

/**
 * Two resolve hooks, for the project's files and what they import (Node's synchronous hooks):
 * - a relative or absolute import of a project file (not a package) from a file of one load is
 *   imported under that load's version too, so an edited `tools.ts` is read again even when the
 *   agent file that imports it did not change;
 * - a project made by `runtools init` in a checkout of RunTools (or used before `npm install`)
 *   may have no `@runtools/sdk` or `zod` of its own: when nothing else resolves them, they are
 *   the copies this package uses.
 */
function registerLoaderHooks(): void {
  if (hooksRegistered) return;
  hooksRegistered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      let resolved: ReturnType<typeof nextResolve>;
      try {
        resolved = nextResolve(specifier, context);
      } catch (error) {
        const fallback =
          specifier === '@runtools/sdk' ||
          specifier.startsWith('@runtools/sdk/') ||
          specifier === 'zod' ||
          specifier.startsWith('zod/');
        if (!fallback || (error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
        let url: string;
        try {
          url = import.meta.resolve(specifier);
        } catch {
          throw error;
        }
        return { url, format: 'module', shortCircuit: true };
      }
      const version = context.parentURL?.startsWith('file:')
        ? new URL(context.parentURL).searchParams.get(versionParam)
        : null;
      const local = /^(\.{1,2}\/|\/|file:)/.test(specifier);
      if (version === null || !local || !resolved.url.startsWith('file:')) return resolved;
      const url = new URL(resolved.url);
      if (url.pathname.includes('/node_modules/')) return resolved;
      url.searchParams.set(versionParam, version);
      return { ...resolved, url: url.href };
    },
  });
}

async function loadConfig(
  root: string,
  problems: ProjectProblem[],
  version: string,
): Promise<ProjectConfig> {
  const file = join(root, 'runtools.config.ts');
  const st = await stat(file).catch(() => null);
  if (!st) return projectConfigSchema.parse({});
  try {
    const mod = (await import(versioned(file, version))) as { default?: unknown };
    const r = projectConfigSchema.safeParse(mod.default ?? {});
    if (r.success) return r.data;
    problems.push({
      file: 'runtools.config.ts',
      code: 'invalid_config',
      message: r.error.issues
        .map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`)
        .join('; '),
    });
  } catch (err) {
    problems.push(describeImportError('runtools.config.ts', err));
  }
  return projectConfigSchema.parse({});
}

async function agentFiles(root: string): Promise<string[]> {
  const dir = join(root, 'agents');
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (
      e.isFile() &&
      /\.(ts|mts|js|mjs)$/.test(e.name) &&
      !/\.(test|d)\.[mc]?[tj]s$/.test(e.name)
    ) {
      files.push(join(dir, e.name));
    } else if (e.isDirectory()) {
      for (const index of ['index.ts', 'index.mts', 'index.js', 'index.mjs']) {
        if (await stat(join(dir, e.name, index)).catch(() => null)) {
          files.push(join(dir, e.name, index));
          break;
        }
      }
    }
  }
  return files;
}

async function templateDirs(root: string): Promise<ProjectTemplate[]> {
  const dir = join(root, 'templates');
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: ProjectTemplate[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!e.isDirectory()) continue;
    const text = await readFile(join(dir, e.name, 'Dockerfile'), 'utf8').catch(() => null);
    if (text !== null) out.push({ slug: e.name, dir: join(dir, e.name), dockerfile: text });
  }
  return out;
}

function describeImportError(file: string, err: unknown): ProjectProblem {
  if (err instanceof AgentDefinitionError || (err as { code?: string })?.code === 'invalid_agent') {
    const issues = (err as AgentDefinitionError).issues ?? [];
    return {
      file,
      code: 'invalid_agent',
      message: issues.length
        ? issues.map((i) => `field "${i.field}": ${i.message}`).join('; ')
        : (err as Error).message,
    };
  }
  const e = err as Error & { code?: string };
  // Syntax errors carry the position in their stack's first line; keep the message short.
  const where = /:(\d+)(?::(\d+))?\)?$/m.exec(e.stack?.split('\n')[0] ?? '');
  return {
    file,
    code: e.code === 'ERR_MODULE_NOT_FOUND' ? 'module_not_found' : 'load_failed',
    message: `${e.name}: ${e.message}${where ? ` (line ${where[1]})` : ''}`,
  };
}
