import { parseCidrList } from '@runtools/agent';
import { type IntegrationName, integrationNames } from '@runtools/sdk';
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
 * - `RUNTOOLS_GITHUB_API_URL`, `RUNTOOLS_SLACK_API_URL`, … (one per integration): the API an
 *   integration calls instead of the service's own (GitHub Enterprise:
 *   `https://github.example.com/api/v3`);
 * - `RUNTOOLS_INTEGRATION_ALLOW`: address ranges those APIs may be on although loopback, private,
 *   link-local or metadata (an Enterprise server on the LAN: `10.0.0.0/8`).
 */
export const outboundSettingsSchema = z.object({
  RUNTOOLS_WEBHOOK_ALLOW: cidrList.optional(),
  RUNTOOLS_MODEL_ENDPOINT_ALLOW: cidrList.optional(),
  RUNTOOLS_MODEL_BASE_URLS: urlList.optional(),
  RUNTOOLS_MODEL_KEY_VARS: nameList.optional(),
  RUNTOOLS_INTEGRATION_ALLOW: cidrList.optional(),
  ...Object.fromEntries(
    integrationNames.map((name) => [
      integrationUrlVariable(name),
      z.url({ protocol: /^https?$/, message: 'an http(s) URL' }).optional(),
    ]),
  ),
});

/** The variable that sets an integration's API base URL: `RUNTOOLS_GITHUB_API_URL`. */
export function integrationUrlVariable(name: IntegrationName): string {
  return `RUNTOOLS_${name.toUpperCase()}_API_URL`;
}

/** The `startServer` options of these settings. */
export interface OutboundSettings {
  webhookAllow: string[];
  modelEndpointAllow: string[];
  modelBaseURLs: string[];
  modelKeyVariables: string[];
  integrationAllow: string[];
  integrationBaseUrls: Partial<Record<IntegrationName, string>>;
}

/** The options of parsed settings (absent ones are empty lists). */
export function outboundOptions(parsed: z.output<typeof outboundSettingsSchema>): OutboundSettings {
  return {
    webhookAllow: parsed.RUNTOOLS_WEBHOOK_ALLOW ?? [],
    modelEndpointAllow: parsed.RUNTOOLS_MODEL_ENDPOINT_ALLOW ?? [],
    modelBaseURLs: parsed.RUNTOOLS_MODEL_BASE_URLS ?? [],
    modelKeyVariables: parsed.RUNTOOLS_MODEL_KEY_VARS ?? [],
    integrationAllow: parsed.RUNTOOLS_INTEGRATION_ALLOW ?? [],
    integrationBaseUrls: Object.fromEntries(
      integrationNames.flatMap((name) => {
        const url = (parsed as Record<string, unknown>)[integrationUrlVariable(name)];
        return typeof url === 'string' ? [[name, url]] : [];
      }),
    ),
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
