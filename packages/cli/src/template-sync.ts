import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import type { ProjectTemplate } from '@runtools/agent';
import {
  type RunTools,
  RunToolsError,
  type Template,
  type TemplateBuild,
  type TemplateContextFile,
  type TemplateInput,
} from '@runtools/sdk';
import { BuildProgress } from './render/build-progress.ts';
import { formatDuration } from './render/event-renderer.ts';
import type { OutputStream } from './render/terminal-style.ts';

/** What building one template did. */
export interface TemplateChange {
  slug: string;
  /** `built`: a new definition was built; `unchanged`: the server had this definition built. */
  action: 'built' | 'unchanged' | 'stored';
  template: Template;
}

export interface BuildTemplateOptions {
  /** Where progress is drawn (stderr); nothing is drawn without it. */
  progress?: OutputStream;
  /** Draw a live bar (default: when `progress` is a terminal). */
  live?: boolean;
}

/**
 * A Dockerfile template from its directory: the Dockerfile and, as its build context, every
 * other regular file below the directory (`.git` aside). Text files are sent as text; binary or
 * executable ones base64-encoded with their mode.
 */
export async function readDockerfileTemplate(dir: string, slug: string): Promise<TemplateInput> {
  const dockerfile = await readFile(join(dir, 'Dockerfile'), 'utf8').catch((cause: unknown) => {
    throw new RunToolsError('template_invalid', `${dir} has no readable Dockerfile.`, { cause });
  });
  const files: Record<string, TemplateContextFile> = {};
  for (const path of await contextFiles(dir)) {
    const rel = relative(dir, path).split(sep).join('/');
    if (rel === 'Dockerfile') continue;
    const [bytes, info] = await Promise.all([readFile(path), stat(path)]);
    const mode = info.mode & 0o777;
    const text = utf8(bytes);
    files[rel] =
      text !== undefined && (mode & 0o111) === 0
        ? text
        : { content: bytes.toString('base64'), encoding: 'base64', mode };
  }
  return Object.keys(files).length > 0 ? { slug, dockerfile, files } : { slug, dockerfile };
}

/**
 * A template definition from the command line's path: a directory with a Dockerfile (slug: the
 * directory's name) or a spec JSON file (`{ "os": "debian-13", ... }`, or `{ "slug", "spec" }`;
 * slug: its `slug`, else the file's name without `.json`).
 */
export async function readTemplateSource(path: string, slug?: string): Promise<TemplateInput> {
  const info = await stat(path).catch((cause: unknown) => {
    throw new RunToolsError('template_invalid', `${path} does not exist.`, { cause });
  });
  if (info.isDirectory()) return readDockerfileTemplate(path, slug ?? basename(path));
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new RunToolsError(
      'template_invalid',
      `${path} is neither a directory with a Dockerfile nor a JSON template spec.`,
      { cause },
    );
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new RunToolsError('template_invalid', `${path}: a template spec is a JSON object.`);
  }
  const { slug: specSlug, spec, ...rest } = json;
  const name = slug ?? (typeof specSlug === 'string' ? specSlug : basename(path, '.json'));
  return { slug: name, spec: (spec ?? rest) as Extract<TemplateInput, { spec: unknown }>['spec'] };
}

/**
 * Defines a template on the server and follows its build to the end, drawing progress. The same
 * definition again is not rebuilt (`unchanged`). A failed build throws `template_build_failed`
 * with the end of its log.
 */
export async function buildTemplate(
  rt: RunTools,
  input: TemplateInput,
  options: BuildTemplateOptions = {},
): Promise<TemplateChange> {
  const created = await rt.templates.create(input);
  if (created.status === 'ready')
    return { slug: input.slug, action: 'unchanged', template: created };
  const buildId = created.build?.id;
  // A server without a sandbox engine stores the definition; its first sandbox builds it.
  if (buildId === undefined) return { slug: input.slug, action: 'stored', template: created };
  const progress = options.progress
    ? new BuildProgress({
        out: options.progress,
        label: `template ${input.slug}`,
        ...(options.live === undefined ? {} : { live: options.live }),
      })
    : undefined;
  progress?.start(created.status === 'queued' ? 'queued' : 'building');
  const tail: string[] = [];
  let build: TemplateBuild | undefined;
  try {
    for await (const item of rt.templates.logs(input.slug, buildId)) {
      if (item.type === 'status') build = item.build;
      else {
        tail.push(item.line);
        if (tail.length > 20) tail.shift();
        progress?.log(item.line);
      }
    }
  } catch (error) {
    progress?.fail('could not follow the build');
    throw error;
  }
  if (build?.status !== 'ready') {
    const why = build?.error?.message ?? build?.status ?? 'unknown';
    progress?.fail(`build ${build?.status ?? 'ended'}`);
    throw new RunToolsError(
      build?.status === 'cancelled' ? 'template_build_cancelled' : 'template_build_failed',
      `The build of template "${input.slug}" ${build?.status ?? 'ended'}: ${why}\n` +
        `The end of its log:\n${tail.map((line) => `  ${line}`).join('\n')}`,
      { details: { build } },
    );
  }
  const template = await rt.templates.get(input.slug);
  progress?.done(
    `ready (version ${template.version ?? build.version ?? '?'}` +
      `${build.buildMs === null ? '' : `, built in ${formatDuration(build.buildMs)}`})`,
  );
  return { slug: input.slug, action: 'built', template };
}

/** Builds a project's `templates/NAME/Dockerfile` templates, one after the other. */
export async function syncTemplates(
  rt: RunTools,
  templates: readonly ProjectTemplate[],
  options: BuildTemplateOptions = {},
): Promise<TemplateChange[]> {
  const changes: TemplateChange[] = [];
  for (const template of templates) {
    const input = await readDockerfileTemplate(template.dir, template.slug);
    changes.push(await buildTemplate(rt, input, options));
  }
  return changes;
}

async function contextFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== '.git') out.push(...(await contextFiles(path)));
    } else if (entry.isFile()) out.push(path);
  }
  return out;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}
