import type { Sandbox, SandboxInput } from '@runtools/sdk';
import { Command, InvalidArgumentError, Option } from 'commander';
import { type ClientFlags, createClient, withClientOptions } from '../client-config.ts';
import { pruneDevEngines } from '../dev/dev-engines.ts';
import { DEV_ENGINE_ROOT } from '../dev/dev-server.ts';
import { exitCodes } from '../program.ts';
import { formatDuration } from '../render/event-renderer.ts';
import { formatTable, formatTime } from '../render/table.ts';
import { terminalStyle } from '../render/terminal-style.ts';
import { integerOption } from './integer-option.ts';
import { sandboxShellCommand } from './sandbox-shell.ts';

interface JsonFlag extends ClientFlags {
  json?: boolean;
}

interface CreateFlags extends JsonFlag {
  template: string;
  timeout?: number;
  onTimeout?: 'pause' | 'kill';
  env: Record<string, string>;
  metadata: Record<string, string>;
  network?: 'none' | 'egress';
  cwd?: string;
}

interface ExecFlags extends JsonFlag {
  cwd?: string;
  env: Record<string, string>;
  timeout?: number;
}

const help = (path: string) => `(runtools sandbox ${path} --help shows how to use it)`;

/** `runtools sandbox create|list|exec|pause|resume|rm`. */
export function sandboxCommand(): Command {
  const sandbox = new Command('sandbox').description(
    'Create sandboxes, run commands in them, pause, resume and remove them',
  );
  sandbox.addCommand(
    withClientOptions(
      new Command('create')
        .showHelpAfterError(help('create'))
        .description('Start a sandbox from a template and print its id')
        .option('-t, --template <slug>', 'the template (runtools templates list)', 'debian-13')
        .addOption(
          new Option('--timeout <ms>', 'pause or stop it after this many milliseconds').argParser(
            integerOption(1),
          ),
        )
        .addOption(
          new Option('--on-timeout <action>', 'what the timeout does').choices(['pause', 'kill']),
        )
        .addOption(
          new Option('-e, --env <KEY=VALUE>', 'an environment variable (repeatable)')
            .argParser(collectPairs)
            .default({}),
        )
        .addOption(
          new Option('--metadata <KEY=VALUE>', 'a metadata entry (repeatable)')
            .argParser(collectPairs)
            .default({}),
        )
        .addOption(
          new Option('--network <mode>', 'none (default) or egress').choices(['none', 'egress']),
        )
        .option('--cwd <dir>', 'the working directory of its commands')
        .option('--json', 'print the sandbox as JSON'),
    ).action(async (flags: CreateFlags) => {
      const rt = createClient(flags);
      const input: SandboxInput = {
        template: flags.template,
        ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout }),
        ...(flags.onTimeout ? { onTimeout: flags.onTimeout } : {}),
        ...(Object.keys(flags.env).length ? { env: flags.env } : {}),
        ...(Object.keys(flags.metadata).length ? { metadata: flags.metadata } : {}),
        ...(flags.network ? { network: { mode: flags.network } } : {}),
        ...(flags.cwd ? { cwd: flags.cwd } : {}),
      };
      const created = await rt.sandboxes.create(input);
      if (flags.json) process.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
      else process.stdout.write(`${created.id}\n`);
    }),
  );
  sandbox.addCommand(
    withClientOptions(
      new Command('list')
        .showHelpAfterError(help('list'))
        .description('Running and paused sandboxes, oldest first')
        .addOption(new Option('--state <state>', 'only these').choices(['running', 'paused']))
        .option('--json', 'print the sandboxes as a JSON array'),
    ).action(async (flags: JsonFlag & { state?: 'running' | 'paused' }) => {
      const rt = createClient(flags);
      const all: Sandbox[] = [];
      let cursor: string | undefined;
      do {
        const page = await rt.sandboxes.list({
          limit: 100,
          ...(cursor ? { cursor } : {}),
          ...(flags.state ? { state: flags.state } : {}),
        });
        all.push(...page.data);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
        return;
      }
      if (all.length === 0) {
        process.stderr.write('No sandboxes. Start one with: runtools sandbox create\n');
        return;
      }
      const out = process.stdout;
      const style = terminalStyle(out);
      const rows = all.map((s) => [
        s.id,
        s.template,
        s.state === 'running' ? style.green(s.state) : style.yellow(s.state),
        formatTime(s.createdAt),
        formatTime(s.expiresAt),
      ]);
      out.write(formatTable(['ID', 'TEMPLATE', 'STATE', 'CREATED', 'EXPIRES'], rows, out));
    }),
  );
  sandbox.addCommand(
    withClientOptions(
      new Command('exec')
        .showHelpAfterError(help('exec'))
        .description('Run a command in a sandbox, its output streamed; exit 1 when it fails')
        .argument('<id>', "the sandbox's id")
        .argument(
          '<command...>',
          'one argument: a shell command ("ls | wc -l"); several: the argv (-- ls -la)',
        )
        .option('--cwd <dir>', 'the working directory')
        .addOption(
          new Option('-e, --env <KEY=VALUE>', 'an environment variable (repeatable)')
            .argParser(collectPairs)
            .default({}),
        )
        .addOption(
          new Option('--timeout <ms>', 'kill the command after this many milliseconds').argParser(
            integerOption(1),
          ),
        )
        .option('--json', 'print the result (exit code, stdout, stderr) as JSON at the end'),
    )
      .addHelpText(
        'after',
        "\nThe command's own exit code is printed on stderr when it is not 0.\n\nExamples:\n" +
          '  runtools sandbox exec sbx_123 "cd /srv && ls | wc -l"\n  runtools sandbox exec sbx_123 -- python3 -V',
      )
      .action(async (id: string, command: string[], flags: ExecFlags) => {
        const rt = createClient(flags);
        const abort = new AbortController();
        const onSigint = () => abort.abort(new Error('interrupted'));
        process.once('SIGINT', onSigint);
        try {
          const result = await rt.sandboxes.exec(id, {
            command: command.length === 1 ? (command[0] as string) : command,
            ...(flags.cwd ? { cwd: flags.cwd } : {}),
            ...(Object.keys(flags.env).length ? { env: flags.env } : {}),
            ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout }),
            signal: abort.signal,
            ...(flags.json
              ? {}
              : {
                  onStdout: (text: string) => process.stdout.write(text),
                  onStderr: (text: string) => process.stderr.write(text),
                }),
          });
          if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
          else if (result.exitCode !== 0 || result.timedOut) {
            const style = terminalStyle(process.stderr);
            const why = result.timedOut
              ? `timed out after ${formatDuration(result.durationMs)}`
              : `exit code ${result.exitCode}${result.signal ? ` (${result.signal})` : ''}`;
            process.stderr.write(style.red(`command failed: ${why}\n`));
          }
          process.exitCode =
            result.exitCode === 0 && !result.timedOut ? exitCodes.ok : exitCodes.failure;
        } catch (error) {
          if (!abort.signal.aborted) throw error;
          process.stderr.write('\ninterrupted: the command was killed\n');
          process.exitCode = exitCodes.failure;
        } finally {
          process.off('SIGINT', onSigint);
        }
      }),
  );
  for (const [name, description] of [
    ['pause', 'Checkpoint every process of a sandbox to disk and stop them'],
    ['resume', 'Restore a paused sandbox as it was'],
  ] as const) {
    sandbox.addCommand(
      withClientOptions(
        new Command(name)
          .showHelpAfterError(help(name))
          .description(description)
          .argument('<id...>', 'sandbox ids')
          .option('--json', 'print the sandboxes as JSON'),
      ).action(async (ids: string[], flags: JsonFlag) => {
        const rt = createClient(flags);
        const style = terminalStyle(process.stdout);
        for (const id of ids) {
          const changed = await rt.sandboxes[name](id);
          if (flags.json) process.stdout.write(`${JSON.stringify(changed)}\n`);
          else {
            const state =
              changed.state === 'running'
                ? style.green(changed.state)
                : style.yellow(changed.state);
            const size =
              changed.state !== 'paused' || changed.snapshotBytes === null
                ? ''
                : ` (snapshot ${(changed.snapshotBytes / 1024 / 1024).toFixed(1)} MiB)`;
            process.stdout.write(`${changed.id}: ${state}${size}\n`);
          }
        }
      }),
    );
  }
  sandbox.addCommand(
    withClientOptions(
      new Command('rm')
        .alias('delete')
        .showHelpAfterError(help('rm'))
        .description('Delete sandboxes: their processes, files and snapshot are gone')
        .argument('<id...>', 'sandbox ids'),
    ).action(async (ids: string[], flags: ClientFlags) => {
      const rt = createClient(flags);
      for (const id of ids) {
        await rt.sandboxes.delete(id);
        process.stdout.write(`${id}: deleted\n`);
      }
    }),
  );
  sandbox.addCommand(sandboxShellCommand());
  sandbox.addCommand(
    new Command('prune')
      .showHelpAfterError(help('prune'))
      .description(
        `Remove the sandboxes of projects that are gone: runtools dev keeps each project's sandboxes in ${DEV_ENGINE_ROOT}/…; those of a deleted or moved project folder are deleted with their files (run on the machine, as root)`,
      )
      .option('--dry-run', 'only say what would be removed')
      .option('--dir <dir>', 'where runtools dev keeps engines', DEV_ENGINE_ROOT)
      .action(async (flags: { dryRun?: boolean; dir: string }) => {
        const outcomes = await pruneDevEngines(flags.dir, { dryRun: flags.dryRun ?? false });
        if (outcomes.length === 0) process.stdout.write(`Nothing in ${flags.dir}.\n`);
        for (const o of outcomes) {
          const what = o.project ? `project ${o.project}` : o.dir;
          const count = `${o.sandboxes} sandbox${o.sandboxes === 1 ? '' : 'es'}`;
          process.stdout.write(
            o.action === 'kept'
              ? `kept     ${what}: ${o.reason}\n`
              : `${o.action === 'removed' ? 'removed ' : 'would remove'} ${what} (${o.dir}, ${count}): ${o.reason}\n`,
          );
        }
      }),
  );
  return sandbox;
}

/** Collects repeated `KEY=VALUE` options into one object. */
function collectPairs(value: string, previous: Record<string, string>): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`expected KEY=VALUE, got "${value}".`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}
