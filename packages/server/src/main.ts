/**
 * The RunTools server process: reads its configuration from the environment once, here, starts the
 * server (`startServer`: the database, the sandbox engine, the run worker, the webhook dispatcher
 * and the HTTP API) and serves until SIGTERM/SIGINT,
 * which drains (no new runs; runs in flight finish their current tool call and go back to the
 * queue from their checkpoint) and exits 0.
 *
 * Environment:
 * - `RUNTOOLS_API_KEY`: a bootstrap API key (at least 32 characters, e.g. `openssl rand -base64
 *   32`) accepted besides stored keys.
 * - `DATABASE_URL`: PostgreSQL (`postgres://…`); without it, SQLite in `RUNTOOLS_DATA_DIR`.
 * - `RUNTOOLS_DATA_DIR`: the database (SQLite), the secret key file and the sandboxes (default
 *   `.runtools`); made 0711 (no other user can list it), its files 0600.
 * - `RUNTOOLS_SECRET_KEY`: the key stored secrets (webhook signing secrets, runtimes' model keys)
 *   are encrypted with, 32 bytes as base64 or hex (`openssl rand -base64 32`). Without it,
 *   `<data dir>/secret.key`, generated on first use with SQLite. Required with `DATABASE_URL`
 *   (unless that file is there): every server on one PostgreSQL must have the same key.
 * - `RUNTOOLS_TEMPLATES_DIR`: built templates (default `<data dir>/templates`).
 * - `PORT` (default 3000), `HOST` (default 127.0.0.1).
 * - `RUNTOOLS_DOMAIN`: sandbox ports are served at `{port}-{sandboxId}.{domain}` (optional).
 * - `RUNTOOLS_RUN_LEASE_MS`: how long a run claim lasts without a heartbeat (default 30000).
 * - `RUNTOOLS_WORKER_CONCURRENCY`: runs executed at once (default 4).
 * - `RUNTOOLS_DRAIN_GRACE_MS`: how long a drain waits for tool calls in flight (default 10000).
 * - `RUNTOOLS_WARM_POOL`: sandboxes kept booted per template, e.g. `debian-13:2,nodejs-20:1`.
 * - `RUNTOOLS_SANDBOX_DISK_MIB`: disk quota of every sandbox that asks for none (default 4096).
 * - `RUNTOOLS_NPM_REGISTRY`, `RUNTOOLS_PIP_INDEX_URL`: where template builds get npm and pip
 *   packages (default: the public npm registry and PyPI, `https://pypi.org/simple`).
 * - `RUNTOOLS_RATE_LIMIT`: per-key requests, `BURST/PER_SECOND` (default 100/20) or `off`.
 * - `RUNTOOLS_AUTH_THROTTLE`: failed authentications per client address, `FAILURES/SECONDS`
 *   (default 10/60: the 11th bad key within a minute, and every request after it until the
 *   minute has passed, is a 429) or `off`.
 * - `RUNTOOLS_TRUSTED_PROXIES`: reverse proxies whose `X-Forwarded-For` names the client for that
 *   throttle, e.g. `127.0.0.1,10.0.0.0/8` (default none: the client is the connection's peer).
 * - `RUNTOOLS_ON_STOP`: what SIGTERM/SIGINT do with running sandboxes: `pause` (default: their
 *   memory is kept on disk and nothing runs until a request resumes one) or `keep` (they run on).
 * - Model keys (`ANTHROPIC_API_KEY`, `OPENAI_API_KEY`, `*_BASE_URL`, …) are handed to the worker.
 *   With none, a run of `model: 'auto'` fails with `no_model_configured` (the scripted demo model
 *   answers only under `runtools dev`, or for `model: 'scripted'`).
 * - `RUNTOOLS_WEBHOOK_ALLOW`, `RUNTOOLS_MODEL_ENDPOINT_ALLOW`: address ranges (`127.0.0.1/32,10.0.0.0/8`)
 *   webhooks and custom model endpoints may reach although loopback, private, link-local or
 *   metadata addresses (refused by default).
 * - `RUNTOOLS_MODEL_BASE_URLS`: URL prefixes the server's model keys may be sent to besides each
 *   provider's own API (the `*_BASE_URL` variables count as listed).
 * - `RUNTOOLS_MODEL_KEY_VARS`: variables besides the providers' own keys that runtimes may name
 *   with `apiKey: 'env:NAME'` (they are handed to the worker too).
 * - `RUNTOOLS_GITHUB_API_URL`, `RUNTOOLS_SLACK_API_URL`, …: the APIs marketplace integrations call
 *   instead of the services' own (GitHub Enterprise); `RUNTOOLS_INTEGRATION_ALLOW`: address ranges
 *   those may be on although loopback, private, link-local or metadata (refused by default).
 * - `RUNTOOLS_TOOL_SECRETS`: the variables of this environment custom tools may declare as
 *   secrets (`secrets: ['ORDERS_API_KEY']`), e.g. `ORDERS_API_KEY,CRM_TOKEN`. Default none: a
 *   runtime is written by whoever holds a `deploy` key, and must not read the server's own keys.
 */
import { RunToolsError, toolSecretNameSchema } from '@runtools/sdk';
import { z } from 'zod';
import { addressMatcher, defaultAuthThrottle } from './http/auth-throttle.ts';
import { jsonLogger } from './http/logger.ts';
import { outboundOptions, outboundSettingsSchema } from './outbound-settings.ts';
import { parseSecretKey } from './secrets/secret-key.ts';
import { type StartServerOptions, startServer } from './server.ts';

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const configSchema = z.object({
  RUNTOOLS_API_KEY: z
    .string()
    .min(32, 'must be at least 32 characters; generate one with `openssl rand -base64 32`')
    .optional(),
  RUNTOOLS_SECRET_KEY: z
    .string()
    .refine((v) => {
      try {
        parseSecretKey(v, 'RUNTOOLS_SECRET_KEY');
        return true;
      } catch {
        return false;
      }
    }, 'must be 32 random bytes written as base64 (44 characters) or hex (64 characters); generate one with `openssl rand -base64 32`')
    .optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  RUNTOOLS_DATA_DIR: z.string().min(1).default('.runtools'),
  RUNTOOLS_TEMPLATES_DIR: z.string().min(1).optional(),
  PORT: integer(0, 65_535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  RUNTOOLS_DOMAIN: z
    .string()
    .regex(/^[a-z0-9.-]+(:\d+)?$/i, 'must be a host name such as sandboxes.example.com')
    .optional(),
  RUNTOOLS_RUN_LEASE_MS: integer(500, 3_600_000).default(30_000),
  RUNTOOLS_WORKER_CONCURRENCY: integer(1, 1024).default(4),
  RUNTOOLS_DRAIN_GRACE_MS: integer(0, 3_600_000).default(10_000),
  RUNTOOLS_WARM_POOL: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9-]*:\d+(,[a-z0-9][a-z0-9-]*:\d+)*$/,
      'must look like debian-13:2,nodejs-20:1',
    )
    .transform((v) =>
      Object.fromEntries(v.split(',').map((p) => [p.split(':')[0], Number(p.split(':')[1])])),
    )
    .optional(),
  RUNTOOLS_SANDBOX_DISK_MIB: integer(16, 1024 * 1024).optional(),
  RUNTOOLS_ON_STOP: z.enum(['pause', 'keep']).default('pause'),
  RUNTOOLS_NPM_REGISTRY: z.url({ protocol: /^https?$/ }).optional(),
  RUNTOOLS_PIP_INDEX_URL: z.url({ protocol: /^https?$/ }).optional(),
  RUNTOOLS_RATE_LIMIT: z
    .string()
    .regex(/^(off|\d+\/\d+)$/, 'must be "off" or BURST/PER_SECOND such as 100/20')
    .transform((v) =>
      v === 'off'
        ? (false as const)
        : { burst: Number(v.split('/')[0]), perSecond: Number(v.split('/')[1]) },
    )
    .optional(),
  ...outboundSettingsSchema.shape,
  RUNTOOLS_TOOL_SECRETS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== ''),
    )
    .pipe(z.array(toolSecretNameSchema))
    .optional(),
  RUNTOOLS_AUTH_THROTTLE: z
    .string()
    .regex(/^(off|\d+\/\d+)$/, 'must be "off" or FAILURES/SECONDS such as 10/60')
    .transform((v) =>
      v === 'off'
        ? (false as const)
        : { maxFailures: Number(v.split('/')[0]), windowMs: Number(v.split('/')[1]) * 1000 },
    )
    .refine((v) => v === false || (v.maxFailures >= 1 && v.windowMs >= 1000), {
      message: 'must allow at least 1 failure over at least 1 second',
    })
    .optional(),
  RUNTOOLS_TRUSTED_PROXIES: z
    .string()
    .transform((v, ctx) => {
      const entries = v
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e !== '');
      try {
        addressMatcher(entries);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
      return entries;
    })
    .optional(),
});

export type ServerConfig = z.output<typeof configSchema> & {
  /** Model provider keys and endpoints, passed to the agent loop. */
  modelEnv: Record<string, string>;
  /** The variables RUNTOOLS_TOOL_SECRETS names, with their values: what custom tools may read. */
  toolSecrets: Record<string, string>;
};

/** Variables the model providers read: keys and base URLs (not RunTools' own). */
const modelVariable = /^(?!RUNTOOLS_)[A-Z0-9_]+_(API_KEY|BASE_URL)$/;

/** Validates the environment; throws an Error listing every bad variable. */
export function readConfig(env: NodeJS.ProcessEnv): ServerConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration: ${problems.join('; ')}`);
  }
  const keyVariables = new Set(parsed.data.RUNTOOLS_MODEL_KEY_VARS ?? []);
  const modelEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value && (modelVariable.test(name) || keyVariables.has(name))) modelEnv[name] = value;
  }
  const toolSecrets: Record<string, string> = {};
  for (const name of parsed.data.RUNTOOLS_TOOL_SECRETS ?? []) {
    const value = env[name];
    if (value) toolSecrets[name] = value;
  }
  return { ...parsed.data, modelEnv, toolSecrets };
}

/** The throttle of failed authentications as configured (the default when nothing is set). */
function authThrottle(config: ServerConfig): Pick<StartServerOptions, 'authThrottle'> {
  const throttle = config.RUNTOOLS_AUTH_THROTTLE;
  const trustedProxies = config.RUNTOOLS_TRUSTED_PROXIES;
  if (throttle === false) return { authThrottle: false };
  if (throttle === undefined && trustedProxies === undefined) return {};
  return {
    authThrottle: {
      ...defaultAuthThrottle,
      ...throttle,
      ...(trustedProxies ? { trustedProxies } : {}),
    },
  };
}

async function main(): Promise<void> {
  let config: ServerConfig;
  try {
    config = readConfig(process.env);
  } catch (error) {
    jsonLogger.error({ error: (error as Error).message }, 'invalid configuration');
    process.exit(1);
  }
  const server = await startServer({
    dataDir: config.RUNTOOLS_DATA_DIR,
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
    ...(config.RUNTOOLS_TEMPLATES_DIR ? { templatesDir: config.RUNTOOLS_TEMPLATES_DIR } : {}),
    port: config.PORT,
    host: config.HOST,
    ...(config.RUNTOOLS_API_KEY ? { apiKey: config.RUNTOOLS_API_KEY } : {}),
    ...(config.RUNTOOLS_SECRET_KEY ? { secretKey: config.RUNTOOLS_SECRET_KEY } : {}),
    ...(config.RUNTOOLS_DOMAIN ? { domain: config.RUNTOOLS_DOMAIN } : {}),
    leaseMs: config.RUNTOOLS_RUN_LEASE_MS,
    concurrency: config.RUNTOOLS_WORKER_CONCURRENCY,
    drainGraceMs: config.RUNTOOLS_DRAIN_GRACE_MS,
    ...(config.RUNTOOLS_WARM_POOL ? { warmPool: config.RUNTOOLS_WARM_POOL } : {}),
    ...(config.RUNTOOLS_SANDBOX_DISK_MIB
      ? { sandboxDiskMiB: config.RUNTOOLS_SANDBOX_DISK_MIB }
      : {}),
    ...(config.RUNTOOLS_RATE_LIMIT !== undefined ? { rateLimit: config.RUNTOOLS_RATE_LIMIT } : {}),
    ...authThrottle(config),
    templateSources: {
      ...(config.RUNTOOLS_NPM_REGISTRY ? { npmRegistry: config.RUNTOOLS_NPM_REGISTRY } : {}),
      ...(config.RUNTOOLS_PIP_INDEX_URL ? { pipIndexUrl: config.RUNTOOLS_PIP_INDEX_URL } : {}),
    },
    modelEnv: config.modelEnv,
    toolSecrets: config.toolSecrets,
    toolSecretsHelp: 'and name it in RUNTOOLS_TOOL_SECRETS',
    ...outboundOptions(config),
  });
  jsonLogger.info(
    {
      url: server.url,
      database: server.databaseKind,
      dataDir: server.dataDir,
      pid: process.pid,
    },
    'runtools server ready',
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      jsonLogger.info({ signal }, 'draining');
      let code = 0;
      try {
        const stopped = await server.stop({
          drain: true,
          pauseSandboxes: config.RUNTOOLS_ON_STOP === 'pause',
        });
        if (stopped.paused.length + stopped.notPaused.length > 0) {
          // Those not paused are logged one by one, with why; they keep running.
          jsonLogger.info(
            { paused: stopped.paused.length, notPaused: stopped.notPaused.length },
            'sandboxes paused',
          );
        }
      } catch (error) {
        jsonLogger.error({ error }, 'shutdown failed');
        code = 1;
      }
      jsonLogger.info({ code }, 'stopped');
      process.exit(code);
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    // A RunTools error (a missing or wrong secret key, …) says what to do; its stack does not.
    const fields = RunToolsError.isInstance(error)
      ? { code: error.code, error: error.message }
      : { error };
    jsonLogger.error(fields, 'the server failed to start');
    process.exit(1);
  });
}
