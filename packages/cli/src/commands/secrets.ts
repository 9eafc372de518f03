import { type Secret, secretNameSchema } from '@runtools/sdk';
import { Command, InvalidArgumentError } from 'commander';
import { type ClientFlags, createClient, withClientOptions } from '../client-config.ts';
import { formatTable, formatTime } from '../render/table.ts';
import { UsageError } from '../usage-error.ts';

interface ScopeFlags extends ClientFlags {
  deployment?: string;
}

const secretName = (value: string): string => {
  const parsed = secretNameSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues[0]?.message ?? 'invalid');
  return value;
};

/**
 * `runtools secrets set|list|rm`: the secret store integrations read credentials from. A value
 * is read from stdin when it is piped, else from a prompt that does not echo it; never from the
 * command line, where it would stay in the shell's history and `ps`.
 */
export function secretsCommand(): Command {
  const secrets = new Command('secrets').description(
    'Set, list and remove the credentials integrations use (GITHUB_TOKEN, SLACK_BOT_TOKEN, …)',
  );
  secrets.addCommand(
    withClientOptions(
      new Command('set')
        .showHelpAfterError('(runtools secrets set --help shows how to use it)')
        .description(
          'Set a secret. The value comes from stdin (`gh auth token | runtools secrets set GITHUB_TOKEN`) or a prompt that does not show it.',
        )
        .argument('<name>', 'e.g. GITHUB_TOKEN', secretName)
        .option(
          '--deployment <id>',
          "this deployment's own value (read before the server-wide one)",
        ),
    ).action(async (name: string, flags: ScopeFlags) => {
      const value = process.stdin.isTTY
        ? await promptHidden(`Value of ${name} (not shown): `)
        : await readStdin();
      if (value === '')
        throw new UsageError(`No value for ${name}: pipe it in or type it at the prompt.`);
      const rt = createClient(flags);
      const secret = await rt.secrets.set({
        name,
        value,
        ...(flags.deployment ? { deploymentId: flags.deployment } : {}),
      });
      process.stderr.write(`${secret.name} set (${scopeOf(secret)}).\n`);
    }),
  );
  secrets.addCommand(
    withClientOptions(
      new Command('list')
        .description('The secrets: names, scopes and when they were set (never values)')
        .option('--deployment <id>', "only this deployment's own")
        .option('--json', 'print them as a JSON array'),
    ).action(async (flags: ScopeFlags & { json?: boolean }) => {
      const list = await createClient(flags).secrets.list(
        flags.deployment ? { deploymentId: flags.deployment } : {},
      );
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      const rows = list.map((s) => [s.name, scopeOf(s), formatTime(s.updatedAt)]);
      process.stdout.write(formatTable(['NAME', 'SCOPE', 'UPDATED'], rows, process.stdout));
    }),
  );
  secrets.addCommand(
    withClientOptions(
      new Command('rm')
        .description('Remove a secret (the server-wide value, or with --deployment that one’s own)')
        .argument('<name>', 'e.g. GITHUB_TOKEN', secretName)
        .option('--deployment <id>', "the deployment's own value"),
    ).action(async (name: string, flags: ScopeFlags) => {
      await createClient(flags).secrets.delete(
        name,
        flags.deployment ? { deploymentId: flags.deployment } : {},
      );
      process.stderr.write(`${name} removed.\n`);
    }),
  );
  return secrets;
}

function scopeOf(secret: Secret): string {
  return secret.deploymentId === null ? 'server-wide' : `deployment ${secret.deploymentId}`;
}

/** All of stdin, without the one line break a pipe or `echo` ends it with. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Reads a line from the terminal without echoing it (backspace works, Ctrl-C cancels). */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  let value = '';
  return new Promise((resolve, reject) => {
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003' || ch === '\u0004') {
          finish();
          reject(new UsageError('Cancelled: nothing was set.'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
