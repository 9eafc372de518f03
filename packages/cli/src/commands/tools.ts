import { Command } from 'commander';
import { type ClientFlags, createClient, withClientOptions } from '../client-config.ts';
import { openBrowser } from '../dev/open-browser.ts';
import { formatTable } from '../render/table.ts';

/** `runtools tools list`: the tool catalog of the server. */
export function toolsCommand(): Command {
  const tools = new Command('tools').description(
    'The tools agents can use: core tools, marketplace integrations, custom and MCP tools',
  );
  tools.addCommand(
    withClientOptions(
      new Command('list')
        .description(
          'Every tool an agent can name in tools: [...], and for each integration the secrets it needs and whether they are set',
        )
        .option('--json', 'print the catalog as JSON (with each input schema)'),
    ).action(async (flags: ClientFlags & { json?: boolean }) => {
      const catalog = await createClient(flags).tools.catalog();
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(catalog, null, 2)}\n`);
        return;
      }
      const rows: string[][] = [];
      for (const t of catalog.core) rows.push([t.name, 'core', '', firstSentence(t.description)]);
      for (const i of catalog.integrations) {
        const missing = i.secrets.filter((s) => s.required && !s.configured).map((s) => s.name);
        const status = missing.length === 0 ? 'ready' : `needs ${missing.join(', ')}`;
        rows.push([i.name, 'integration', status, firstSentence(i.description)]);
        for (const a of i.actions) {
          rows.push([
            `  ${a.name}`,
            '',
            a.approval === 'always' ? 'asks approval' : '',
            firstSentence(a.description),
          ]);
        }
      }
      for (const t of catalog.custom) {
        rows.push([t.name, `custom (${t.agent})`, '', firstSentence(t.description)]);
      }
      for (const m of catalog.mcp) {
        rows.push([`${m.server}_*`, `mcp (${m.agent})`, m.transport, '']);
      }
      process.stdout.write(
        formatTable(['NAME', 'KIND', 'STATUS', 'DESCRIPTION'], rows, process.stdout),
      );
      const unset = catalog.integrations.flatMap((i) =>
        i.secrets.filter((s) => s.required && !s.configured).map((s) => s.name),
      );
      if (unset.length > 0) {
        process.stderr.write(
          `Set a missing secret with: runtools secrets set ${unset[0]} (the value is read from stdin or a hidden prompt)\n`,
        );
      }
    }),
  );
  tools.addCommand(
    withClientOptions(
      new Command('connect')
        .showHelpAfterError('(runtools tools connect --help shows how to use it)')
        .description(
          "Connect an account to an integration by the service's OAuth consent (slack, gmail): opens the consent page, waits until the account is connected",
        )
        .argument('<integration>', 'slack or gmail')
        .option('--no-open', 'print the consent page instead of opening a browser')
        .option(
          '--redirect-uri <url>',
          "where the service sends the browser back (default: the server's /oauth/callback)",
        ),
    ).action(async (name: string, flags: ClientFlags & { open: boolean; redirectUri?: string }) => {
      const rt = createClient(flags);
      const before = (await rt.tools.catalog()).integrations.find((i) => i.name === name);
      const started = await rt.tools.connect(
        name,
        flags.redirectUri ? { redirectUri: flags.redirectUri } : {},
      );
      const opened = flags.open && (await openBrowser(started.authorizeUrl));
      process.stdout.write(
        `${opened ? 'Opened' : 'Open'} the consent page${opened ? '' : ' in a browser'}:\n${started.authorizeUrl}\n`,
      );
      process.stderr.write(`Waiting for the consent (until ${started.expiresAt})…\n`);
      const deadline = Date.parse(started.expiresAt);
      while (Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const now = (await rt.tools.catalog()).integrations.find((i) => i.name === name);
        const connection = now?.connection;
        if (connection && connection.connectedAt !== before?.connection?.connectedAt) {
          process.stdout.write(`Connected ${now?.title ?? name}: ${connection.account}\n`);
          return;
        }
      }
      process.stderr.write('No consent came back in time: run it again.\n');
      process.exitCode = 1;
    }),
  );
  return tools;
}

function firstSentence(text: string): string {
  const end = text.search(/\.(\s|$)/);
  return end === -1 ? text : text.slice(0, end + 1);
}
