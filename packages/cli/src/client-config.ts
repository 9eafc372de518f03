import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { RunTools, RunToolsError } from '@runtools/sdk';
import { type Command, Option } from 'commander';
import { UsageError } from './usage-error.ts';

/** The flags every remote command takes (`--server`, `--api-key`). */
export interface ClientFlags {
  server?: string;
  apiKey?: string;
}

/** Where a command's server and key came from, for messages. */
export type ClientConfigSource = 'flags' | 'environment' | 'dev';

export interface ClientConfig {
  baseUrl: string;
  apiKey: string;
  source: ClientConfigSource;
  /** The `.runtools/dev.json` read, when the source is a running `runtools dev`. */
  devFile?: string;
}

/** What `runtools dev` writes to `.runtools/dev.json` while it runs. */
export interface DevServerFile {
  url: string;
  apiKey: string;
  pid: number;
}

/**
 * Adds `--server URL` and `--api-key KEY` to a command that talks to a server, so every remote
 * command spells them the same way.
 */
export function withClientOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--server <url>',
        'the RunTools server (default: $RUNTOOLS_SERVER, or `runtools dev`)',
      ).helpGroup('Server options:'),
    )
    .addOption(
      new Option(
        '--api-key <key>',
        'the API key (default: $RUNTOOLS_API_KEY, or `runtools dev`)',
      ).helpGroup('Server options:'),
    );
}

/**
 * Finds the server and key, first match wins: the flags; `RUNTOOLS_SERVER` (or `RUNTOOLS_URL`)
 * with `RUNTOOLS_API_KEY`; the nearest `.runtools/dev.json` from `cwd` up (a running
 * `runtools dev`). A key without a server (or the reverse) is completed from the next source
 * that has one, so `RUNTOOLS_API_KEY` works with `--server`.
 */
export function resolveClientConfig(
  flags: ClientFlags,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): ClientConfig {
  const flagServer = nonEmpty(flags.server);
  const flagKey = nonEmpty(flags.apiKey);
  const envServer = nonEmpty(env.RUNTOOLS_SERVER) ?? nonEmpty(env.RUNTOOLS_URL);
  const envKey = nonEmpty(env.RUNTOOLS_API_KEY);
  const server = flagServer ?? envServer;
  if (server !== undefined) {
    const apiKey = flagKey ?? envKey ?? devKeyFor(server, cwd);
    if (apiKey === undefined) {
      throw new UsageError(`no API key for ${server}: pass --api-key KEY or set RUNTOOLS_API_KEY`);
    }
    const source = flagServer ? 'flags' : 'environment';
    return {
      baseUrl: checkUrl(server, flagServer ? '--server' : 'RUNTOOLS_SERVER'),
      apiKey,
      source,
    };
  }
  const dev = findDevServer(cwd);
  if (dev === undefined) {
    throw new RunToolsError(
      'no_server',
      'No RunTools server to talk to. Start one with `runtools dev` in your project (in another terminal), ' +
        'or pass --server URL --api-key KEY (or set RUNTOOLS_SERVER and RUNTOOLS_API_KEY).',
    );
  }
  return {
    baseUrl: checkUrl(dev.config.url, dev.file),
    apiKey: flagKey ?? envKey ?? dev.config.apiKey,
    source: 'dev',
    devFile: dev.file,
  };
}

/** The SDK client for a command's flags (see `resolveClientConfig`). */
export function createClient(flags: ClientFlags, env?: NodeJS.ProcessEnv, cwd?: string): RunTools {
  const config = resolveClientConfig(flags, env, cwd);
  return new RunTools({ baseUrl: config.baseUrl, apiKey: config.apiKey });
}

/**
 * The nearest `.runtools/dev.json` from `cwd` up whose `runtools dev` is still running. A file
 * left by a process that died is skipped: it points at a port nobody serves.
 */
export function findDevServer(cwd: string): { file: string; config: DevServerFile } | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const file = join(dir, '.runtools', 'dev.json');
    if (existsSync(file)) {
      const config = readDevFile(file);
      if (config !== undefined && isAlive(config.pid)) return { file, config };
    }
    if (dirname(dir) === dir) return undefined;
  }
}

function readDevFile(file: string): DevServerFile | undefined {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<DevServerFile>;
    if (typeof value.url !== 'string' || typeof value.apiKey !== 'string') return undefined;
    return { url: value.url, apiKey: value.apiKey, pid: Number(value.pid) };
  } catch {
    // Unreadable or half-written: as if `runtools dev` were not running.
    return undefined;
  }
}

/** The key of a running `runtools dev` serving `server`, so `--server` alone works against it. */
function devKeyFor(server: string, cwd: string): string | undefined {
  const dev = findDevServer(cwd);
  if (dev === undefined) return undefined;
  const same = (a: string) => a.replace(/\/+$/, '');
  return same(dev.config.url) === same(server) ? dev.config.apiKey : undefined;
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function checkUrl(value: string, from: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError(`${from}: "${value}" is not an http(s) URL (e.g. http://127.0.0.1:3000)`);
  }
  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
