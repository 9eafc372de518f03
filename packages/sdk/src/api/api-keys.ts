import { z } from 'zod';
import { textSchema, timestampSchema } from './common.ts';

/** The body of `POST /v1/api-keys`. */
export const apiKeyInputSchema = z
  .object({ name: textSchema(200) })
  .strict()
  .meta({ id: 'ApiKeyInput' });

export const apiKeySchema = z
  .object({
    id: z.string(),
    /** The key's first characters, to tell keys apart; never the whole key. */
    prefix: z.string(),
    name: z.string(),
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
