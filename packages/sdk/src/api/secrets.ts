import { z } from 'zod';
import { idSchema, timestampSchema } from './common.ts';

/**
 * A stored secret's name: what an integration reads (`GITHUB_TOKEN`, `SLACK_BOT_TOKEN`), written
 * like an environment variable. RunTools' own configuration (`RUNTOOLS_*`) is not stored here.
 */
export const secretNameSchema = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{0,127}$/, 'uppercase letters, digits and "_", such as GITHUB_TOKEN')
  .refine((name) => !name.startsWith('RUNTOOLS_'), "is RunTools' own configuration");

/**
 * The body of `POST /v1/secrets`: sets a secret (a new one, or a new value for one that exists).
 * With `deploymentId` the value is that deployment's own, read before the server-wide one.
 */
export const secretInputSchema = z
  .object({
    name: secretNameSchema,
    /** The value: stored encrypted, never shown again by any response, event or log line. */
    value: z.string().min(1).max(16_384),
    /** Only runs of this deployment read it (before the server-wide value of the name). */
    deploymentId: idSchema.nullable().optional(),
  })
  .strict()
  .meta({ id: 'SecretInput' });

export type SecretInput = z.input<typeof secretInputSchema>;

/** A stored secret as the API shows it: never its value. */
export const secretSchema = z
  .object({
    name: z.string(),
    /** The deployment whose own value this is; null for the server-wide one. */
    deploymentId: z.string().nullable(),
    createdAt: timestampSchema,
    updatedAt: timestampSchema,
  })
  .meta({ id: 'Secret' });

export type Secret = z.infer<typeof secretSchema>;

/** `GET /v1/secrets`: every secret, or with `deploymentId` only that deployment's own. */
export const secretListQuerySchema = z.object({ deploymentId: idSchema.optional() });

export type SecretListParams = z.infer<typeof secretListQuerySchema>;

/** `DELETE /v1/secrets/{name}`: the server-wide value, or with `deploymentId` that deployment's. */
export const secretDeleteQuerySchema = z.object({ deploymentId: idSchema.optional() });

export const secretListSchema = z
  .object({ data: z.array(secretSchema) })
  .meta({ id: 'SecretList' });
