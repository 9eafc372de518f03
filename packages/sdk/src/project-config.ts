import { z } from 'zod';
import { RunToolsError } from './errors.ts';

/** `runtools.config.ts`: settings of a project. */
export const projectConfigSchema = z
  .object({
    /** Template for agents that name none. */
    defaultTemplate: z.string().min(1).default('debian-13'),
    /** Where `runtools dev` keeps its database and sandboxes (relative to the project). */
    dataDir: z.string().min(1).default('.runtools'),
    dev: z
      .object({ port: z.number().int().min(1).max(65535).default(3000) })
      .strict()
      .default({ port: 3000 }),
    /** The OpenAI-compatible server used for model names no provider claims (e.g. `llama-3.1-8b`). */
    openaiCompatible: z
      .object({
        baseURL: z.url(),
        apiKey: z.string().optional(),
        name: z.string().default('openai-compatible'),
      })
      .strict()
      .optional(),
    /** Provider of the web_search tool. */
    webSearch: z
      .discriminatedUnion('provider', [
        z
          .object({
            provider: z.literal('tavily'),
            apiKey: z.string(),
            endpoint: z.url().optional(),
          })
          .strict(),
        z
          .object({
            provider: z.literal('brave'),
            apiKey: z.string(),
            endpoint: z.url().optional(),
          })
          .strict(),
        z.object({ provider: z.literal('searxng'), url: z.url() }).strict(),
      ])
      .optional(),
  })
  .strict();

export type ProjectConfigInput = z.input<typeof projectConfigSchema>;
export type ProjectConfig = z.output<typeof projectConfigSchema>;

/**
 * Declares a project's settings in `runtools.config.ts`:
 * `export default defineConfig({ defaultTemplate: 'nodejs-20' })`.
 */
export function defineConfig(input: ProjectConfigInput = {}): ProjectConfig {
  const r = projectConfigSchema.safeParse(input);
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({
      field: i.path.join('.') || '(config)',
      message: i.message,
    }));
    throw new RunToolsError(
      'invalid_config',
      `Invalid project config: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
      { details: { issues } },
    );
  }
  return r.data;
}
