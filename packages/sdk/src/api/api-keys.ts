import { z } from 'zod';
import { textSchema, timestampSchema } from './common.ts';
import { apiSlugSchema } from './deployments.ts';

/**
 * What an API key may do. `admin`: API keys and webhooks; `deploy`: templates, runtimes and
 * deployments; `run`: start runs, read and control them; `sandboxes`: the sandbox API and its
 * ports. The server's RUNTOOLS_API_KEY holds all four.
 */
export const apiScopes = ['admin', 'deploy', 'run', 'sandboxes'] as const;

export const apiScopeSchema = z.enum(apiScopes).meta({ id: 'ApiScope' });

export type ApiScope = z.infer<typeof apiScopeSchema>;

/** The body of `POST /v1/api-keys`. */
export const apiKeyInputSchema = z
  .object({
    name: textSchema(200),
    /**
     * The new key's scopes, each one the creating key holds. Default: the creating key's own
     * scopes.
     */
    scopes: z
      .array(apiScopeSchema)
      .min(1)
      .refine((s) => new Set(s).size === s.length, 'must not repeat a scope')
      .optional(),
    /**
     * Restricts the key to these deployments (their `apiSlug`s): it starts runs of them and reads
     * and controls only their runs. A restricted key holds only the `run` scope.
     */
    deployments: z.array(apiSlugSchema).min(1).max(100).optional(),
  })
  .strict()
  .meta({ id: 'ApiKeyInput' });

export type ApiKeyInput = z.infer<typeof apiKeyInputSchema>;

export const apiKeySchema = z
  .object({
    id: z.string(),
    /** The key's first characters, to tell keys apart; never the whole key. */
    prefix: z.string(),
    name: z.string(),
    scopes: z.array(apiScopeSchema),
    /** The deployments (`apiSlug`s) the key is restricted to; null when it is not restricted. */
    deployments: z.array(z.string()).nullable(),
    createdAt: timestampSchema,
    revokedAt: timestampSchema.nullable(),
  })
  .meta({ id: 'ApiKey' });

export type ApiKey = z.infer<typeof apiKeySchema>;

/** A new API key, with its plaintext `key`: shown this once only. */
export const createdApiKeySchema = apiKeySchema
  .extend({ key: z.string().meta({ description: 'The plaintext key: shown this once only.' }) })
  .meta({ id: 'CreatedApiKey' });

export type CreatedApiKey = z.infer<typeof createdApiKeySchema>;
