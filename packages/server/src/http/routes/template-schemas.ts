import { z } from '@hono/zod-openapi';
import {
  type SandboxEngine,
  SYSTEM_TEMPLATES,
  type TemplateInfo,
  templateSpecSchema,
} from '@runtools/sandbox';
import { RunToolsError } from '@runtools/sdk';
import type { Template, TemplateBuild } from '../../store/templates.ts';
import { describeDefinition } from '../../templates/template-definition.ts';
import { idSchema } from '../common-schemas.ts';

/** A custom template's slug, as the engine allows it. */
export const templateSlugSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" and "-"')
  .meta({ example: 'my-app' });

export const slugParamSchema = z.object({
  slug: templateSlugSchema.openapi({ param: { name: 'slug', in: 'path' } }),
});

export const buildParamSchema = slugParamSchema.extend({
  id: idSchema.openapi({ param: { name: 'id', in: 'path' } }),
});

const contextFileSchema = z.union([
  z.string().meta({ description: 'The file as UTF-8 text (mode 0644).' }),
  z
    .object({
      content: z.string(),
      encoding: z.enum(['utf8', 'base64']).optional(),
      mode: z.number().int().min(0).max(0o7777).optional(),
    })
    .strict(),
]);

/** A spec template's definition; `slug` may be left out (it is the template's). */
const specSchema = templateSpecSchema
  .omit({ slug: true })
  .extend({ slug: z.string().optional() })
  .openapi('TemplateSpec');

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
  files: z.record(z.string(), contextFileSchema).optional(),
};

function oneDefinition(
  body: { spec?: unknown; dockerfile?: unknown; files?: unknown },
  ctx: z.RefinementCtx,
) {
  if ((body.spec === undefined) === (body.dockerfile === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'give either spec or dockerfile', path: ['spec'] });
  }
  if (body.files !== undefined && body.dockerfile === undefined) {
    ctx.addIssue({ code: 'custom', message: 'files go with a dockerfile', path: ['files'] });
  }
}

export const templateInputSchema = z
  .object({ slug: templateSlugSchema, ...definitionFields })
  .strict()
  .superRefine(oneDefinition)
  .openapi('TemplateInput');

/** `PUT /v1/templates/{slug}`: the slug is the path's. */
export const templatePutSchema = z
  .object({ slug: templateSlugSchema.optional(), ...definitionFields })
  .strict()
  .superRefine(oneDefinition)
  .openapi('TemplatePut');

export type TemplateInputBody = z.infer<typeof templateInputSchema>;

/**
 * `PATCH /v1/templates/{slug}`: spec fields replace the stored spec's (of a spec template); a
 * Dockerfile or a files map replaces the stored one (of a Dockerfile template) and keeps the other.
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
  .openapi('TemplatePatch');

const buildStatusSchema = z.enum(['queued', 'building', 'ready', 'failed', 'cancelled']);

export const templateBuildSchema = z
  .object({
    id: z.string(),
    template: z.string(),
    status: buildStatusSchema,
    /** The built version (a content hash), once ready. */
    version: z.string().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    /** The server process that builds (or built) it. */
    server: z.string().nullable(),
    /** Seq of the last log line. */
    log_lines: z.number().int(),
    size_bytes: z.number().int().nullable(),
    build_ms: z.number().int().nullable(),
    /** Runtimes and notable packages in the template (`node`, `python`, …). */
    runtime_versions: z.record(z.string(), z.string()).nullable(),
    created_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
  })
  .openapi('TemplateBuild');

export type TemplateBuildJson = z.infer<typeof templateBuildSchema>;

const localSchema = z
  .object({
    version: z.string(),
    size_bytes: z.number().int(),
    build_ms: z.number().int(),
    runtime_versions: z.record(z.string(), z.string()),
    created_at: z.string(),
  })
  .nullable()
  .meta({
    description: 'The template as built on the server that answers (null: not built there).',
  });

export const templateSchema = z
  .object({
    /** Null for a system template. */
    id: z.string().nullable(),
    slug: z.string(),
    kind: z.enum(['system', 'spec', 'dockerfile']),
    /**
     * The latest build of the current definition's status; `pending` when it has none (defined on
     * a server without a sandbox engine: built by the first server that needs it).
     */
    status: z.enum(['pending', 'queued', 'building', 'ready', 'failed', 'cancelled']),
    /** The version of the current definition's latest ready build. */
    version: z.string().nullable(),
    spec: z.record(z.string(), z.unknown()).optional(),
    dockerfile: z.string().optional(),
    /** The paths of the Dockerfile's build context. */
    files: z.array(z.string()).optional(),
    /** The latest build of the current definition. */
    build: templateBuildSchema.nullable(),
    built_here: z.boolean(),
    local: localSchema,
    created_at: z.string().nullable(),
    updated_at: z.string().nullable(),
  })
  .openapi('Template');

export type TemplateJson = z.infer<typeof templateSchema>;

export function toBuildJson(build: TemplateBuild): TemplateBuildJson {
  return {
    id: build.id,
    template: build.slug,
    status: build.status,
    version: build.version,
    error: build.error,
    server: build.server,
    log_lines: build.lastSeq,
    size_bytes: build.result?.sizeBytes ?? null,
    build_ms: build.result?.buildMs ?? null,
    runtime_versions: build.result?.versions ?? null,
    created_at: build.createdAt,
    started_at: build.startedAt,
    finished_at: build.finishedAt,
  };
}

function toLocalJson(info: TemplateInfo | undefined): TemplateJson['local'] {
  if (info === undefined) return null;
  return {
    version: info.version,
    size_bytes: info.sizeBytes,
    build_ms: info.buildMs,
    runtime_versions: info.versions,
    created_at: info.createdAt,
  };
}

/** A custom template: its definition, its latest build and what this server has built of it. */
export function toTemplateJson(
  template: Template,
  build: TemplateBuild | undefined,
  ready: TemplateBuild | undefined,
  local: TemplateInfo | undefined,
): TemplateJson {
  return {
    id: template.id,
    slug: template.slug,
    kind: template.kind,
    status: build?.status ?? 'pending',
    version: ready?.version ?? null,
    ...describeDefinition(template.definition),
    build: build === undefined ? null : toBuildJson(build),
    built_here: local !== undefined && ready !== undefined && local.version === ready.version,
    local: toLocalJson(local),
    created_at: template.createdAt,
    updated_at: template.updatedAt,
  };
}

/** A system template: built by each server's engine on first use. */
export function toSystemTemplateJson(slug: string, local: TemplateInfo | undefined): TemplateJson {
  return {
    id: null,
    slug,
    kind: 'system',
    status: local === undefined ? 'pending' : 'ready',
    version: local?.version ?? null,
    spec: SYSTEM_TEMPLATES[slug] as Record<string, unknown>,
    build: null,
    built_here: local !== undefined,
    local: toLocalJson(local),
    created_at: null,
    updated_at: null,
  };
}

/** The current version of `slug` on this server, never building anything. */
export async function localTemplate(
  engine: SandboxEngine | undefined,
  slug: string,
): Promise<TemplateInfo | undefined> {
  if (engine === undefined) return undefined;
  if (SYSTEM_TEMPLATES[slug] !== undefined) {
    // `get` would build a system template that is not built yet.
    return (await engine.templates.list()).find((t) => t.slug === slug);
  }
  return engine.templates.get(slug).catch(() => undefined);
}

export function templateNotFound(slug: string): RunToolsError {
  return new RunToolsError('template_not_found', `Template "${slug}" does not exist.`, {
    details: { template: slug },
  });
}
