import { z } from '@hono/zod-openapi';
import { type SandboxEngine, SYSTEM_TEMPLATES, type TemplateInfo } from '@runtools/sandbox';
import { RunToolsError } from '@runtools/sdk';
import { idSchema, type Template, type TemplateBuild, templateSlugSchema } from '@runtools/sdk/api';
import type {
  TemplateBuild as StoredBuild,
  Template as StoredTemplate,
} from '../../store/templates.ts';
import { describeDefinition } from '../../templates/template-definition.ts';

export const slugParamSchema = z.object({
  slug: templateSlugSchema.meta({ param: { name: 'slug', in: 'path' } }),
});

export const buildParamSchema = slugParamSchema.extend({
  id: idSchema.meta({ param: { name: 'id', in: 'path' } }),
});

export function toBuildJson(build: StoredBuild): TemplateBuild {
  return {
    id: build.id,
    template: build.slug,
    status: build.status,
    version: build.version,
    error: build.error,
    server: build.server,
    logLines: build.lastSeq,
    sizeBytes: build.result?.sizeBytes ?? null,
    buildMs: build.result?.buildMs ?? null,
    runtimeVersions: build.result?.versions ?? null,
    createdAt: build.createdAt,
    startedAt: build.startedAt,
    finishedAt: build.finishedAt,
  };
}

function toLocalJson(info: TemplateInfo | undefined): Template['local'] {
  if (info === undefined) return null;
  return {
    version: info.version,
    sizeBytes: info.sizeBytes,
    buildMs: info.buildMs,
    runtimeVersions: info.versions,
    createdAt: info.createdAt,
  };
}

/** A custom template: its definition, its latest build and what this server has built of it. */
export function toTemplateJson(
  template: StoredTemplate,
  build: StoredBuild | undefined,
  ready: StoredBuild | undefined,
  local: TemplateInfo | undefined,
): Template {
  return {
    id: template.id,
    slug: template.slug,
    kind: template.kind,
    status: build?.status ?? 'pending',
    version: ready?.version ?? null,
    ...describeDefinition(template.definition),
    build: build === undefined ? null : toBuildJson(build),
    builtHere: local !== undefined && ready !== undefined && local.version === ready.version,
    local: toLocalJson(local),
    createdAt: template.createdAt,
    updatedAt: template.updatedAt,
  };
}

/** A system template: built by each server's engine on first use. */
export function toSystemTemplateJson(slug: string, local: TemplateInfo | undefined): Template {
  return {
    id: null,
    slug,
    kind: 'system',
    status: local === undefined ? 'pending' : 'ready',
    version: local?.version ?? null,
    spec: SYSTEM_TEMPLATES[slug] as Record<string, unknown>,
    build: null,
    builtHere: local !== undefined,
    local: toLocalJson(local),
    createdAt: null,
    updatedAt: null,
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
