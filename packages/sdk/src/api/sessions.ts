import { z } from 'zod';
import { apiScopeSchema } from './api-keys.ts';
import { textSchema, timestampSchema } from './common.ts';

/** The body of `POST /v1/sessions`: the API key a browser signs in with (kept by the server only). */
export const sessionInputSchema = z
  .object({ key: textSchema(500) })
  .strict()
  .meta({ id: 'SessionInput' });

export type SessionInput = z.infer<typeof sessionInputSchema>;

/**
 * A browser session: an HttpOnly, SameSite=Strict cookie that stands for the API key it was made
 * with (never the key itself). Requests it authenticates that change something must send
 * `csrfToken` as the `X-RunTools-CSRF` header.
 */
export const sessionSchema = z
  .object({
    /** The key behind the session; `id` is null for the server's RUNTOOLS_API_KEY. */
    apiKey: z.object({
      id: z.string().nullable(),
      name: z.string(),
      prefix: z.string().nullable(),
      scopes: z.array(apiScopeSchema),
      deployments: z.array(z.string()).nullable(),
    }),
    csrfToken: z.string(),
    createdAt: timestampSchema,
    expiresAt: timestampSchema,
  })
  .meta({ id: 'Session' });

export type Session = z.infer<typeof sessionSchema>;
