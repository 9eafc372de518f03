import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { styleText } from 'node:util';
import type { ModelSpec, RunEvent } from '@runtools/sdk';
import { type OutboundSettings, readOutboundSettings } from '@runtools/server';
import { Command, InvalidArgumentError, Option } from 'commander';
import { devApiKey } from '../dev/dev-api-key.ts';
import {
  DEV_ENGINE_ROOT,
  DEV_LOOPBACK,
  type DevReload,
  type DevReporter,
  type DevServer,
  startDevServer,
} from '../dev/dev-server.ts';
import { readLiveDevState } from '../dev/dev-state.ts';
import { openBrowser } from '../dev/open-browser.ts';
import { exitCodes } from '../program.ts';
import { modelLabel } from '../render/model-label.ts';
import { UsageError } from '../usage-error.ts';

/** Variables the model providers read: keys and base URLs (as the server's main.ts passes on). */
const modelVariable = /^(?!RUNTOOLS_)[A-Z0-9_]+_(API_KEY|BASE_URL)$/;

const out = process.stdout;
const err = process.stderr;
type Format = Parameters<typeof styleText>[0];
const paint = (format: Format, text: string, stream: NodeJS.WriteStream = out) =>
  styleText(format, text, { stream });

export interface DevFlags {
  port?: number;
  host: string;
  verbose?: boolean;
  open?: boolean;
}

function portNumber(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65_535) {
    throw new InvalidArgumentError('a port number from 0 to 65535.');
  }
  return Number(value);
}

/** `runtools dev`. */
export function devCommand(): Command {
  return new Command('dev')
    .description(
      "Serve this project's agents from a local server and redeploy them when files change",
    )
    .addOption(
      new Option(
        '-p, --port <port>',
        'port (default: dev.port of runtools.config.ts, else 3000)',
      ).argParser(portNumber),
    )
    .option('--host <host>', 'interface to listen on (0.0.0.0 for every one)', '127.0.0.1')
    .option('--verbose', "print the server's JSON log lines")
    .option('--open', 'open the dashboard in your browser once the server is up')
    .addHelpText(
      'after',
      `
Run it in a project folder (see \`runtools init\`). The API key is RUNTOOLS_API_KEY (16 characters or
more) when it is set, else one generated for the project (kept in .runtools/dev-api-key) is printed. The database is SQLite in .runtools/;
sandboxes live under /var/lib/runtools/dev/, templates in /var/lib/runtools/templates (or
RUNTOOLS_TEMPLATES_DIR). While it runs, .runtools/dev.json tells other runtools
commands in the project where the server is. Ctrl-C stops it (runs in flight go back to the queue).`,
    )
    .action(async (flags: DevFlags) => {
      process.exitCode = await runDev(process.cwd(), flags);
    });
}

/** Serves the project at `root` until SIGINT/SIGTERM; returns the exit code. */
export async function runDev(root: string, flags: DevFlags): Promise<number> {
  root = resolve(root);
  if (!existsSync(join(root, 'agents')) && !existsSync(join(root, 'runtools.config.ts'))) {
    throw new UsageError(
      `${root} is not a RunTools project (no agents/ and no runtools.config.ts). Create one with \`runtools init\`, or cd into one.`,
    );
  }
  const envKey = process.env.RUNTOOLS_API_KEY;
  if (envKey !== undefined && envKey !== '' && envKey.length < 16) {
    throw new UsageError('RUNTOOLS_API_KEY must be at least 16 characters (or unset it).');
  }
  const running = readLiveDevState(root);
  if (running && running.pid !== process.pid) {
    err.write(
      `${paint('red', 'error', err)}: runtools dev already serves this project at ${running.url} (pid ${running.pid}).\n`,
    );
    return exitCodes.failure;
  }
  const apiKey = envKey || devApiKey(root).key;
  let outbound: OutboundSettings;
  try {
    outbound = readOutboundSettings(process.env);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const keyVariables = new Set(outbound.modelKeyVariables);
  const modelEnv = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] =>
        (modelVariable.test(e[0]) || keyVariables.has(e[0])) && Boolean(e[1]),
    ),
  );
  const reporter = terminalReporter(flags.verbose ?? false);
  let dev: DevServer;
  try {
    dev = await startDevServer({
      root,
      ...(flags.port !== undefined ? { port: flags.port } : {}),
      host: flags.host,
      apiKey,
      modelEnv,
      // Custom tools' secrets come from this environment (each tool gets those it declares).
      toolSecrets: Object.fromEntries(
        Object.entries(process.env).filter((e): e is [string, string] => Boolean(e[1])),
      ),
      outbound,
      reporter,
      templateProgress: out,
      // Shared with the server's main.ts (and the tests): where built templates are kept.
      ...(process.env.RUNTOOLS_TEMPLATES_DIR
        ? { templatesDir: process.env.RUNTOOLS_TEMPLATES_DIR }
        : {}),
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { port?: number };
    if (e.code === 'EADDRINUSE') {
      err.write(
        `${paint('red', 'error', err)}: port ${e.port ?? flags.port} is in use; pick another with --port.\n`,
      );
      return exitCodes.failure;
    }
    if ((e.code === 'EACCES' || e.code === 'EPERM') && e.path?.startsWith(DEV_ENGINE_ROOT)) {
      err.write(
        `${paint('red', 'error', err)}: runtools dev runs sandboxes, which needs root: it cannot write ${e.path}. Run it as root (see scripts/setup.sh).\n`,
      );
      return exitCodes.failure;
    }
    throw error;
  }
  printBanner(root, dev, Boolean(envKey), modelEnv);
  if (flags.open && !(await openBrowser(`${dev.url}/`))) {
    err.write(`No browser opener (xdg-open) here: open ${dev.url}/ yourself.\n`);
  }

  return new Promise<number>((resolveExit) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) {
        err.write('Stopping now, without waiting for runs.\n');
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
      out.write(
        `\n${paint('dim', `${signal}: stopping (runs in flight go back to the queue)…`)}\n`,
      );
      dev.stop().then(
        ({ paused, notPaused }) => {
          if (paused.length > 0) {
            out.write(
              `Paused ${paused.length} sandbox${paused.length === 1 ? '' : 'es'} (memory kept on disk; the next runtools dev resumes each on its first request).\n`,
            );
          }
          for (const { id, error } of notPaused) {
            err.write(
              `${paint('yellow', 'warning', err)}: sandbox ${id} could not be paused and keeps running: ${error}\n`,
            );
          }
          out.write('Stopped.\n');
          resolveExit(exitCodes.ok);
        },
        (error: unknown) => {
          err.write(
            `${paint('red', 'error', err)}: stopping failed: ${(error as Error).message}\n`,
          );
          resolveExit(exitCodes.failure);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

function modelText(model: ModelSpec, served: ModelSpec, env: Record<string, string>): string {
  const label = modelLabel(model, served, env);
  return label.warning ? `${label.text} ${paint('yellow', `(${label.warning})`)}` : label.text;
}

function printBanner(
  root: string,
  dev: DevServer,
  keyFromEnv: boolean,
  env: Record<string, string>,
): void {
  const { url } = dev;
  const ws = url.replace(/^http/, 'ws');
  const lines = [
    '',
    `${paint('bold', 'RunTools dev server')} for ${root}`,
    '',
    `  API        ${paint('cyan', url)}`,
    `  Dashboard  ${paint('cyan', `${url}/`)} ${paint('dim', '(sign in with the API key below)')}`,
    `  API key    ${keyFromEnv ? 'RUNTOOLS_API_KEY' : `${dev.apiKey} ${paint('dim', "(this project's, in .runtools/dev-api-key; set RUNTOOLS_API_KEY to choose one)")}`}`,
    `  Loopback   webhooks and custom model endpoints may use ${DEV_LOOPBACK.join(' and ')} ${paint('dim', '(dev only: a server started with npm run start:server refuses them unless RUNTOOLS_WEBHOOK_ALLOW / RUNTOOLS_MODEL_ENDPOINT_ALLOW allow them)')}`,
    '',
  ];
  const endpoints = dev.last.endpoints;
  if (endpoints.length === 0) {
    lines.push(`  No agents yet: add one to agents/ (export default defineAgent({...})).`, '');
  }
  for (const e of endpoints) {
    lines.push(
      `  ${paint('bold', e.slug)}  ${paint('dim', `${e.file} · template ${e.template} · model`)} ${modelText(e.model, e.served, env)}`,
      `    POST ${url}/v1/run/${e.slug}`,
      `    WS   ${ws}/v1/run/${e.slug}/stream`,
    );
    if (e.customTools.length > 0) {
      lines.push(
        `    ${paint('dim', 'custom tools')} ${e.customTools.join(', ')} ${paint('dim', '(run as nobody in a tool runner; secrets from this environment)')}`,
      );
    }
  }
  const first = endpoints[0];
  if (first) {
    const key = keyFromEnv ? '$RUNTOOLS_API_KEY' : dev.apiKey;
    lines.push(
      '',
      '  Try it:',
      `    curl -s ${url}/v1/run/${first.slug} -H "Authorization: Bearer ${key}" -H 'content-type: application/json' -d '{"input":"List the files in the working directory"}'`,
    );
  }
  lines.push(
    '',
    paint(
      'dim',
      '  Watching agents/, templates/ and runtools.config.ts; edits are deployed as you save. Ctrl-C stops.',
    ),
    '',
  );
  out.write(`${lines.join('\n')}\n`);
}

function describeReload(reload: DevReload): string[] {
  const lines: string[] = [];
  for (const p of reload.problems) {
    lines.push(
      `${paint('red', '✖')} ${paint('bold', p.file)}: ${p.message}`,
      paint('dim', '  the last good version keeps serving; fix the file and save'),
    );
  }
  for (const file of reload.fixed) lines.push(`${paint('green', '✔')} ${file} loads again`);
  for (const error of reload.errors) {
    const message = (error as Error)?.message ?? String(error);
    lines.push(`${paint('red', '✖')} ${message}`);
  }
  for (const slug of reload.built)
    lines.push(`${paint('green', '↻')} template ${paint('bold', slug)} built`);
  // At the start the banner lists what is served; afterwards each change gets a line.
  const changes = reload.trigger.length ? (reload.result?.changes ?? []) : [];
  for (const c of changes) {
    const detail =
      c.kind === 'runtime'
        ? ` (${c.detail})`
        : c.action === 'deleted'
          ? ''
          : ` (${c.detail.replace(/^runtime \S+, /, '')})`;
    lines.push(`${paint('green', '↻')} ${c.kind} ${paint('bold', c.slug)} ${c.action}${detail}`);
    // A new endpoint: say where it is.
    if (c.kind === 'deployment' && c.action === 'created') {
      lines.push(`  POST /v1/run/${c.slug}`);
    }
  }
  if (lines.length === 0 && reload.trigger.length && reload.result) {
    lines.push(paint('dim', '↻ reloaded: nothing to deploy'));
  }
  return lines;
}

/** Prints what happens: reloads, broken files, templates, and a line per run event worth seeing. */
function terminalReporter(verbose: boolean): DevReporter {
  const started = new Map<string, number>();
  return {
    reloaded: (reload) => {
      const lines = describeReload(reload);
      if (lines.length) out.write(`${lines.join('\n')}\n`);
    },
    template: (slug, state, detail) => {
      const mark =
        state === 'ready' ? paint('green', '✔') : state === 'failed' ? paint('red', '✖') : '…';
      out.write(`${mark} template ${paint('bold', slug)}: ${state} (${detail})\n`);
    },
    runEvent: (runId, event: RunEvent) => {
      const tag = paint('dim', runId);
      if (event.type === 'status' && event.status === 'running') {
        started.set(runId, performance.now());
        out.write(`${tag} running${event.reason ? ` (${event.reason})` : ''}\n`);
      } else if (event.type === 'tool_call') {
        const input = JSON.stringify(event.input);
        out.write(
          `${tag}   ${paint('yellow', event.name)} ${input.length > 100 ? `${input.slice(0, 99)}…` : input}\n`,
        );
      } else if (event.type === 'status' && event.status !== 'queued') {
        const t0 = started.get(runId);
        const took =
          t0 === undefined ? '' : ` in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
        const color: Format =
          event.status === 'completed' ? 'green' : event.status === 'paused' ? 'yellow' : 'red';
        out.write(
          `${tag} ${paint(color, event.status)}${took}${event.reason ? ` (${event.reason})` : ''}\n`,
        );
        if (event.status !== 'running') started.delete(runId);
      } else if (event.type === 'complete') {
        const first = event.text.trim().split('\n')[0] ?? '';
        const text = first.length > 100 ? `${first.slice(0, 99)}…` : first;
        if (text) out.write(`${tag}   ${paint('dim', `answer: ${text}`)}\n`);
      } else if (event.type === 'error') {
        out.write(`${tag}   ${paint('red', `error [${event.code}]`)} ${event.message}\n`);
      }
    },
    log: {
      info: (fields, message) => {
        if (verbose) err.write(`${JSON.stringify({ level: 'info', msg: message, ...fields })}\n`);
      },
      error: (fields, message) => {
        const detail = fields.error ?? fields.err;
        const text =
          detail instanceof Error ? detail.message : detail ? JSON.stringify(detail) : '';
        err.write(`${paint('red', 'server error', err)}: ${message}${text ? `: ${text}` : ''}\n`);
      },
    },
  };
}
