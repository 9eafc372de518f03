import { z } from 'zod';
import { idSchema, textSchema, timestampSchema } from './common.ts';

/** A deployment's `apiSlug`: its endpoint is `/v1/run/{apiSlug}`. */
export const apiSlugSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and "-", starting with one of them');

/** The body of `POST /v1/deployments`. */
export const deploymentInputSchema = z
  .object({
    /** Served at `/v1/run/{apiSlug}`. */
    apiSlug: apiSlugSchema,
    runtimeId: idSchema,
    /** The sandbox template's slug. */
    template: textSchema(200),
  })
  .strict()
  .meta({ id: 'DeploymentInput' });

export type DeploymentInput = z.input<typeof deploymentInputSchema>;

/** The body of `PATCH /v1/deployments/{id}`: the fields to change. */
export const deploymentPatchSchema = deploymentInputSchema
  .partial()
  .meta({ id: 'DeploymentPatch' });

export type DeploymentPatch = z.input<typeof deploymentPatchSchema>;

/**
 * What a deployment runs, from its runtime: enough for a key that may run it (scope `run`) to
 * know the agent without reading the runtime (scope `deploy`). No endpoint, header or key.
 */
export const deploymentAgentSchema = z
  .object({
    slug: z.string(),
    version: z.number().int(),
    name: z.string().optional(),
    description: z.string().optional(),
    /** The model as configured: `claude-sonnet-4-5`, `auto`, or `provider/model` (`custom/scripted`). */
    model: z.string(),
    tools: z.array(z.string()),
  })
  .meta({ id: 'DeploymentAgent' });

export type DeploymentAgent = z.infer<typeof deploymentAgentSchema>;

/** A runtime plus a template, served at `/v1/run/{apiSlug}`. */
export const deploymentSchema = z
  .object({
    id: z.string(),
    apiSlug: z.string(),
    runtimeId: z.string(),
    /** The runtime's agent; null if the runtime is gone. */
    agent: deploymentAgentSchema.nullable(),
    template: z.string(),
    createdAt: timestampSchema,
    updatedAt: timestampSchema,
  })
  .meta({ id: 'Deployment' });

export type Deployment = z.infer<typeof deploymentSchema>;
