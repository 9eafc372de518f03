import { z } from 'zod';
import { failureSchema, timestampSchema } from './common.ts';
import {
  flatSpecFields,
  specFieldNames,
  templateSlugSchema,
  templateSpecFields,
  type templateSpecSchema,
} from './template-spec.ts';

/** Every status a template build goes through. */
export const templateBuildStatuses = [
  'queued',
  'building',
  'ready',
  'failed',
  'cancelled',
] as const;
export type TemplateBuildStatus = (typeof templateBuildStatuses)[number];

/** A template's status: its latest build's, or `pending` while it has none. */
export const templateStatuses = ['pending', ...templateBuildStatuses] as const;
export type TemplateStatus = (typeof templateStatuses)[number];

export const templateKinds = ['system', 'spec', 'dockerfile'] as const;

/** A spec inside a template body: `slug` may be left out (it is the template's). */
const specSchema = z
  .object({ slug: z.string().optional(), ...templateSpecFields })
  .strict()
  .meta({ id: 'TemplateSpec' });

/** A file of a Dockerfile's build context: UTF-8 text, or content in an encoding with a mode. */
export const templateContextFileSchema = z.union([
  z.string().meta({ description: 'The file as UTF-8 text (mode 0644).' }),
  z
    .object({
      content: z.string(),
      encoding: z.enum(['utf8', 'base64']).optional(),
      mode: z.number().int().min(0).max(0o7777).optional(),
    })
    .strict(),
]);

export type TemplateContextFile = z.input<typeof templateContextFileSchema>;

const definitionFields = {
  /** A template defined by what it contains (OS, runtimes, packages, env). */
  spec: specSchema.optional(),
  /** A Dockerfile; `FROM` may name a RunTools template (`FROM debian-13`) or an image. */
  dockerfile: z
    .string()
    .min(1)
    .max(1024 * 1024)
    .optional(),
  /** The Dockerfile's build context (`COPY`/`ADD` sources): relative path → file. */
  files: z.record(z.string(), templateContextFileSchema).optional(),
};

/** The spec fields a body gives at its top level (the flat form of a spec). */
function flatFields(body: Record<string, unknown>): string[] {
  return specFieldNames.filter((name) => body[name] !== undefined);
}

/** Exactly one definition: `spec`, `dockerfile` (with its `files`), or a spec's fields flat. */
function oneDefinition(body: Record<string, unknown>, ctx: z.RefinementCtx) {
  const flat = flatFields(body);
  const forms = [body.spec !== undefined, body.dockerfile !== undefined, flat.length > 0];
  if (forms.filter(Boolean).length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message:
        'give one definition: spec, dockerfile, or the spec fields (os, runtimes, apt, npm, pip, env, startCmd, readyCmd) at the top level',
      path: [body.dockerfile !== undefined ? 'dockerfile' : 'spec'],
    });
  } else if (flat.length > 0 && body.os === undefined) {
    ctx.addIssue({ code: 'custom', message: 'os is required', path: ['os'] });
  }
  if (body.files !== undefined && body.dockerfile === undefined) {
    ctx.addIssue({ code: 'custom', message: 'files go with a dockerfile', path: ['files'] });
  }
}

/**
 * The body of `POST /v1/templates`: a spec (`{ slug, spec: { os, … } }`, or its fields at the top
 * level: `{ slug, os, runtimes, npm, pip }`), or a Dockerfile with its build context.
 */
export const templateInputSchema = z
  .object({ slug: templateSlugSchema, ...definitionFields, ...flatSpecFields })
  .strict()
  .superRefine(oneDefinition)
  .meta({ id: 'TemplateInput' });

type SpecFields = Omit<z.input<typeof templateSpecSchema>, 'slug'>;

export type TemplateInput =
  | { slug: string; spec: SpecFields & { slug?: string } }
  | ({ slug: string } & SpecFields)
  | { slug: string; dockerfile: string; files?: Record<string, TemplateContextFile> };

/** The body of `PUT /v1/templates/{slug}`: the slug is the path's. */
export const templatePutSchema = z
  .object({ slug: templateSlugSchema.optional(), ...definitionFields, ...flatSpecFields })
  .strict()
  .superRefine(oneDefinition)
  .meta({ id: 'TemplatePut' });

/** The definition a template body gives, with a flat spec gathered into `spec`. */
export function templateDefinitionOf(
  body: z.infer<typeof templatePutSchema>,
):
  | { spec: Record<string, unknown> }
  | { dockerfile: string; files?: Record<string, TemplateContextFile> | undefined } {
  if (body.spec !== undefined) return { spec: body.spec };
  if (body.dockerfile !== undefined) return { dockerfile: body.dockerfile, files: body.files };
  const spec: Record<string, unknown> = {};
  for (const name of specFieldNames) if (body[name] !== undefined) spec[name] = body[name];
  return { spec };
}

/**
 * The body of `PATCH /v1/templates/{slug}`: spec fields replace the stored spec's (of a spec
 * template); a Dockerfile or a files map replaces the stored one (of a Dockerfile template) and
 * keeps the other.
 */
export const templatePatchSchema = z
  .object({
    // Checked once merged with the stored spec: the spec schema's defaults would fill in (and so
    // replace) every field left out here.
    spec: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'Fields of TemplateSpec to replace.' }),
    dockerfile: definitionFields.dockerfile,
    files: definitionFields.files,
  })
  .strict()
  .superRefine((body, ctx) => {
    const docker = body.dockerfile !== undefined || body.files !== undefined;
    if ((body.spec === undefined) === !docker) {
      ctx.addIssue({
        code: 'custom',
        message: 'give spec fields, or a dockerfile and/or files',
        path: ['spec'],
      });
    }
  })
  .meta({ id: 'TemplatePatch' });

export type TemplatePatch =
  | { spec: Partial<SpecFields> }
  | { dockerfile?: string; files?: Record<string, TemplateContextFile> };

/** One build of a template's definition, on one server. */
export const templateBuildSchema = z
  .object({
    id: z.string(),
    template: z.string(),
    status: z.enum(templateBuildStatuses),
    /** The built version (a content hash), once ready. */
    version: z.string().nullable(),
    error: failureSchema.nullable(),
    /** The server process that builds (or built) it. */
    server: z.string().nullable(),
    /** Seq of the last log line. */
    logLines: z.number().int(),
    sizeBytes: z.number().int().nullable(),
    buildMs: z.number().int().nullable(),
    /** Runtimes and notable packages in the template (`node`, `python`, …). */
    runtimeVersions: z.record(z.string(), z.string()).nullable(),
    createdAt: timestampSchema,
    startedAt: timestampSchema.nullable(),
    finishedAt: timestampSchema.nullable(),
  })
  .meta({ id: 'TemplateBuild' });

export type TemplateBuild = z.infer<typeof templateBuildSchema>;

/** The template as built on the server that answers (null: not built there). */
const localBuildSchema = z
  .object({
    version: z.string(),
    sizeBytes: z.number().int(),
    buildMs: z.number().int(),
    runtimeVersions: z.record(z.string(), z.string()),
    createdAt: timestampSchema,
  })
  .meta({ id: 'LocalTemplateBuild' });

/** A template (`/v1/templates`): a system one, or one defined by a spec or a Dockerfile. */
export const templateSchema = z
  .object({
    /** Null for a system template. */
    id: z.string().nullable(),
    slug: z.string(),
    kind: z.enum(templateKinds),
    /**
     * The latest build of the current definition's status; `pending` when it has none (defined on
     * a server without a sandbox engine: built by the first server that needs it).
     */
    status: z.enum(templateStatuses),
    /** The version of the current definition's latest ready build. */
    version: z.string().nullable(),
    spec: z.record(z.string(), z.unknown()).optional(),
    dockerfile: z.string().optional(),
    /** The paths of the Dockerfile's build context. */
    files: z.array(z.string()).optional(),
    /** The latest build of the current definition. */
    build: templateBuildSchema.nullable(),
    /** Whether the server that answered has the ready version built. */
    builtHere: z.boolean(),
    local: localBuildSchema.nullable(),
    createdAt: timestampSchema.nullable(),
    updatedAt: timestampSchema.nullable(),
  })
  .meta({ id: 'Template' });

export type Template = z.infer<typeof templateSchema>;

/** The data of a `log` event of a build's log stream (SSE); the `status` event's is the build. */
export const templateLogLineSchema = z
  .object({ seq: z.number().int(), line: z.string() })
  .meta({ id: 'TemplateLogLine' });

/** An item of a build's log stream as the client yields it: a line, and last the build as it ended. */
export const templateLogEventSchema = z.discriminatedUnion('type', [
  templateLogLineSchema.extend({ type: z.literal('log') }),
  z.object({ type: z.literal('status'), build: templateBuildSchema }),
]);

export type TemplateLogEvent = z.infer<typeof templateLogEventSchema>;
