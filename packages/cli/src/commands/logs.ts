import { Command, Option } from 'commander';
import { type ClientFlags, createClient, withClientOptions } from '../client-config.ts';
import { exitCodes } from '../program.ts';
import { printEvents } from '../render/event-renderer.ts';
import { integerOption } from './integer-option.ts';

interface LogsFlags extends ClientFlags {
  follow?: boolean;
  json?: boolean;
  after?: number;
}

/** `runtools logs <run-id>`: a run's events so far, or (`--follow`) until it ends. */
export function logsCommand(): Command {
  return withClientOptions(
    new Command('logs')
      .showHelpAfterError('(runtools logs --help shows how to use it)')
      .description("Print a run's events; --follow keeps streaming them until the run ends")
      .argument('<run-id>', "the run's id (runtools runs list shows them)")
      .option('-f, --follow', 'keep streaming new events until the run ends')
      .option('--json', 'print one JSON event per line')
      .addOption(
        new Option('--after <seq>', 'only events after this sequence number')
          .argParser(integerOption(0))
          .default(0),
      ),
  ).action(async (runId: string, flags: LogsFlags) => {
    const rt = createClient(flags);
    const events = flags.follow
      ? rt.runs.stream(runId, { after: flags.after })
      : await rt.runs.events(runId, { after: flags.after });
    await printEvents(events, { out: process.stdout, json: flags.json === true });
    process.exitCode = exitCodes.ok;
  });
}
