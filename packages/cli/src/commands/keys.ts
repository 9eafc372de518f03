import { type ApiKey, type ApiScope, apiScopes } from '@runtools/sdk';
import { Command, InvalidArgumentError, Option } from 'commander';
import { type ClientFlags, createClient, withClientOptions } from '../client-config.ts';
import { formatTable, formatTime } from '../render/table.ts';

interface CreateFlags extends ClientFlags {
  scope?: ApiScope[];
  deployment?: string[];
  json?: boolean;
}

interface ListFlags extends ClientFlags {
  json?: boolean;
}

const collect = (value: string, previous: unknown): string[] => [
  ...((previous as string[] | undefined) ?? []),
  value,
];

const collectScope = (value: string, previous: unknown): string[] => {
  if (!(apiScopes as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`Allowed choices are ${apiScopes.join(', ')}.`);
  }
  return collect(value, previous);
};

/** `runtools keys create|list|revoke`: API keys, their scopes and deployment restrictions. */
export function keysCommand(): Command {
  const keys = new Command('keys').description(
    'Create, list and revoke API keys (scopes: admin, deploy, run, sandboxes)',
  );
  keys.addCommand(
    withClientOptions(
      new Command('create')
        .showHelpAfterError('(runtools keys create --help shows how to use it)')
        .description(
          'Create an API key and print it (shown this once). Without --scope it gets the scopes of the key you use; with --deployment only "run".',
        )
        .argument('<name>', 'what the key is for, e.g. "web app"')
        .addOption(
          new Option(
            '--scope <scope>',
            `a scope to give (repeatable): ${apiScopes.join(', ')}`,
          ).argParser(collectScope),
        )
        .option(
          '--deployment <slug>',
          'restrict the key to this deployment: it starts and reads only its runs (repeatable)',
          collect,
        )
        .option('--json', 'print the created key as JSON'),
    ).action(async (name: string, flags: CreateFlags) => {
      const rt = createClient(flags);
      const created = await rt.apiKeys.create({
        name,
        ...(flags.scope ? { scopes: flags.scope } : {}),
        ...(flags.deployment ? { deployments: flags.deployment } : {}),
      });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${created.key}\n`);
      process.stderr.write(
        `Created ${created.id} (${describeAccess(created)}). The key is shown this once: keep it now.\n`,
      );
    }),
  );
  keys.addCommand(
    withClientOptions(
      new Command('list')
        .showHelpAfterError('(runtools keys list --help shows how to use it)')
        .description('API keys, newest first (prefixes only: a key is never shown again)')
        .option('--json', 'print the keys as a JSON array'),
    ).action(async (flags: ListFlags) => {
      const rt = createClient(flags);
      const all: ApiKey[] = [];
      let cursor: string | undefined;
      do {
        const page = await rt.apiKeys.list({ limit: 100, ...(cursor ? { cursor } : {}) });
        all.push(...page.data);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
        return;
      }
      const rows = all.map((k) => [
        k.id,
        `${k.prefix}…`,
        k.name,
        describeAccess(k),
        k.revokedAt === null ? formatTime(k.createdAt) : `revoked ${formatTime(k.revokedAt)}`,
      ]);
      process.stdout.write(
        formatTable(['ID', 'PREFIX', 'NAME', 'ACCESS', 'CREATED'], rows, process.stdout),
      );
    }),
  );
  keys.addCommand(
    withClientOptions(
      new Command('revoke')
        .showHelpAfterError('(runtools keys revoke --help shows how to use it)')
        .description('Revoke a key: refused from now on, its open streams and tunnels closed')
        .argument('<key-id>'),
    ).action(async (keyId: string, flags: ClientFlags) => {
      const revoked = await createClient(flags).apiKeys.revoke(keyId);
      process.stdout.write(`${revoked.id} revoked\n`);
    }),
  );
  return keys;
}

function describeAccess(key: ApiKey): string {
  const scopes = key.scopes.join(', ');
  return key.deployments === null ? scopes : `${scopes} on ${key.deployments.join(', ')}`;
}
