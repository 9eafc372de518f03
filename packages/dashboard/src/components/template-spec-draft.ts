import {
  type OperatingSystem,
  osRuntimeVersions,
  runtimeNames,
  type TemplateSpecInput,
  templateSpecSchema,
} from '@runtools/sdk/api';

export type RuntimeName = (typeof runtimeNames)[number];

/** What the Template Builder's form holds: text as typed, turned into a spec by `specOf`. */
export interface SpecDraft {
  slug: string;
  os: OperatingSystem;
  runtimes: Record<RuntimeName, { on: boolean; version: string }>;
  /** Package lists as typed: names separated by spaces, commas or new lines. */
  apt: string;
  npm: string;
  pip: string;
  env: Array<{ id: number; name: string; value: string }>;
  startCmd: string;
  readyCmd: string;
}

export const runtimeLabels: Record<RuntimeName, string> = {
  node: 'Node.js',
  python: 'Python',
  bun: 'Bun',
};

/** Versions to suggest for a runtime on `os`: what the OS ships first (no download). */
export function runtimeVersionHints(name: RuntimeName, os: OperatingSystem): string[] {
  const shipped = osRuntimeVersions[os];
  if (name === 'node') return [...new Set([shipped.node, '20', '22', '24', 'latest'])];
  if (name === 'python') return [shipped.python, '3', 'latest'];
  return ['latest', '1'];
}

export function defaultRuntimeVersion(name: RuntimeName, os: OperatingSystem): string {
  if (name === 'node') return osRuntimeVersions[os].node;
  if (name === 'python') return '3';
  return 'latest';
}

export function emptyDraft(): SpecDraft {
  return {
    slug: '',
    os: 'debian-13',
    runtimes: Object.fromEntries(
      runtimeNames.map((name) => [name, { on: false, version: '' }]),
    ) as SpecDraft['runtimes'],
    apt: '',
    npm: '',
    pip: '',
    env: [],
    startCmd: '',
    readyCmd: '',
  };
}

const words = (text: string) => text.split(/[\s,]+/).filter((w) => w !== '');

/**
 * The spec a draft stands for, as `POST /v1/templates` takes it (its fields flat beside the
 * slug); fields left empty are left out (the API's defaults are empty too).
 */
export function specOf(draft: SpecDraft): TemplateSpecInput {
  const runtimes = runtimeNames
    .filter((name) => draft.runtimes[name].on)
    .map((name) => ({ name, version: draft.runtimes[name].version.trim() }));
  const env = Object.fromEntries(
    draft.env.filter((e) => e.name.trim() !== '').map((e) => [e.name.trim(), e.value]),
  );
  const apt = words(draft.apt);
  const npm = words(draft.npm);
  const pip = words(draft.pip);
  return {
    slug: draft.slug.trim(),
    os: draft.os,
    ...(runtimes.length > 0 ? { runtimes } : {}),
    ...(apt.length > 0 ? { apt } : {}),
    ...(npm.length > 0 ? { npm } : {}),
    ...(pip.length > 0 ? { pip } : {}),
    ...(Object.keys(env).length > 0 ? { env } : {}),
    ...(draft.startCmd.trim() ? { startCmd: draft.startCmd.trim() } : {}),
    ...(draft.readyCmd.trim() ? { readyCmd: draft.readyCmd.trim() } : {}),
  };
}

/** A stored spec back into a draft (to change a template in the builder). */
export function draftOf(slug: string, spec: Record<string, unknown>): SpecDraft {
  const parsed = templateSpecSchema.safeParse({ ...spec, slug });
  const draft = emptyDraft();
  draft.slug = slug;
  if (!parsed.success) return draft;
  const s = parsed.data;
  draft.os = s.os;
  for (const r of s.runtimes) {
    if ((runtimeNames as readonly string[]).includes(r.name)) {
      draft.runtimes[r.name as RuntimeName] = { on: true, version: r.version };
    }
  }
  draft.apt = s.apt.join(' ');
  draft.npm = s.npm.join(' ');
  draft.pip = s.pip.join(' ');
  draft.env = Object.entries(s.env).map(([name, value], id) => ({ id, name, value }));
  draft.startCmd = s.startCmd ?? '';
  draft.readyCmd = s.readyCmd ?? '';
  return draft;
}

/** The form fields a spec's validation issues belong to, with the issue in words. */
export type DraftErrors = Partial<
  Record<'slug' | 'runtimes' | 'apt' | 'npm' | 'pip' | 'env' | 'startCmd' | 'readyCmd', string>
>;

/** Checks the spec with the contract's own schema; each field gets its first issue. */
export function draftErrors(draft: SpecDraft): DraftErrors {
  const spec = specOf(draft);
  const errors: DraftErrors = {};
  const parsed = templateSpecSchema.safeParse(spec);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = issue.path[0] as keyof DraftErrors;
      if (errors[field] !== undefined) continue;
      const at = issue.path[1];
      const list = (spec as Record<string, unknown>)[field];
      const item =
        Array.isArray(list) && typeof at === 'number'
          ? field === 'runtimes'
            ? `${(list[at] as { name: string }).name}: `
            : `"${String(list[at])}": `
          : typeof at === 'string'
            ? `${at}: `
            : '';
      errors[field] = `${item}${issue.message}`;
    }
  }
  const names = draft.env.map((e) => e.name.trim()).filter((n) => n !== '');
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (errors.env === undefined && repeated) errors.env = `${repeated} is set twice.`;
  if (errors.env === undefined && draft.env.some((e) => e.name.trim() === '' && e.value !== '')) {
    errors.env = 'A variable with a value needs a name.';
  }
  return errors;
}

const identifier = /^[A-Za-z_$][\w$]*$/;

/** A string as a single-quoted JavaScript literal. */
function quote(text: string): string {
  const escaped = JSON.stringify(text).slice(1, -1).replaceAll('\\"', '"').replaceAll("'", "\\'");
  return `'${escaped}'`;
}

/** A JSON value as a JavaScript literal: keys unquoted where they can be. */
function literal(value: unknown, indent: string): string {
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v !== 'object' || v === null)) {
      return `[${value.map((v) => literal(v, indent)).join(', ')}]`;
    }
    const inner = `${indent}  `;
    return `[\n${value.map((v) => `${inner}${literal(v, inner)},`).join('\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    const inner = `${indent}  `;
    const flat = entries.every(([, v]) => typeof v !== 'object' || v === null);
    const parts = entries.map(
      ([k, v]) => `${identifier.test(k) ? k : quote(k)}: ${literal(v, inner)}`,
    );
    if (flat && parts.join(', ').length < 60) return `{ ${parts.join(', ')} }`;
    return `{\n${parts.map((p) => `${inner}${p},`).join('\n')}\n${indent}}`;
  }
  return typeof value === 'string' ? quote(value) : JSON.stringify(value);
}

/** The same spec as a script creating it with the SDK, to copy. */
export function sdkSnippet(spec: TemplateSpecInput, baseUrl: string): string {
  return [
    "import { RunTools } from '@runtools/sdk';",
    '',
    'const rt = new RunTools({',
    `  baseUrl: ${quote(baseUrl)},`,
    '  apiKey: process.env.RUNTOOLS_API_KEY,',
    '});',
    `await rt.templates.create(${literal(spec, '')});`,
    `await rt.templates.waitForBuild(${quote(spec.slug)}, { onLog: console.log });`,
  ].join('\n');
}
