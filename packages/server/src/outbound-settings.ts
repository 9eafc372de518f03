import { parseCidrList } from '@runtools/agent';
import { z } from 'zod';

/** A comma-separated list, blanks skipped. */
const list = (text: string) =>
  text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');

const cidrList = z.string().transform((text, ctx) => {
  try {
    parseCidrList(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
  return list(text);
});

const urlList = z.string().transform((text, ctx) => {
  const urls = list(text);
  for (const url of urls) {
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      ctx.addIssue({ code: 'custom', message: `"${url}" is not an http(s) URL` });
      return z.NEVER;
    }
  }
  return urls;
});

const nameList = z
  .string()
  .transform(list)
  .pipe(z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be variable names')));

/**
 * The environment variables that say where the server may send requests its users choose, as
 * `main.ts` and `runtools dev` read them:
 * - `RUNTOOLS_WEBHOOK_ALLOW`: address ranges webhooks may go to although loopback, private,
 *   link-local or metadata (`127.0.0.1/32,10.0.0.0/8`);
 * - `RUNTOOLS_MODEL_ENDPOINT_ALLOW`: the same for custom model endpoints;
 * - `RUNTOOLS_MODEL_BASE_URLS`: URL prefixes the server's model keys may be sent to besides each
 *   provider's own API (`https://gateway.example.com/v1`);
 * - `RUNTOOLS_MODEL_KEY_VARS`: variables `apiKey: 'env:NAME'` may name besides the providers'
 *   own keys (`LLAMA_API_KEY`).
 */
export const outboundSettingsSchema = z.object({
  RUNTOOLS_WEBHOOK_ALLOW: cidrList.optional(),
  RUNTOOLS_MODEL_ENDPOINT_ALLOW: cidrList.optional(),
  RUNTOOLS_MODEL_BASE_URLS: urlList.optional(),
  RUNTOOLS_MODEL_KEY_VARS: nameList.optional(),
});

/** The `startServer` options of these settings. */
export interface OutboundSettings {
  webhookAllow: string[];
  modelEndpointAllow: string[];
  modelBaseURLs: string[];
  modelKeyVariables: string[];
}

/** The options of parsed settings (absent ones are empty lists). */
export function outboundOptions(parsed: z.output<typeof outboundSettingsSchema>): OutboundSettings {
  return {
    webhookAllow: parsed.RUNTOOLS_WEBHOOK_ALLOW ?? [],
    modelEndpointAllow: parsed.RUNTOOLS_MODEL_ENDPOINT_ALLOW ?? [],
    modelBaseURLs: parsed.RUNTOOLS_MODEL_BASE_URLS ?? [],
    modelKeyVariables: parsed.RUNTOOLS_MODEL_KEY_VARS ?? [],
  };
}

/** Reads the settings from `env`; throws an Error naming every malformed variable. */
export function readOutboundSettings(env: NodeJS.ProcessEnv): OutboundSettings {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = outboundSettingsSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration: ${problems.join('; ')}`);
  }
  return outboundOptions(parsed.data);
}
