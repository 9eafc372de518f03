import { Command, CommanderError } from 'commander';
import { UsageError } from './usage-error.ts';

/** Exit codes every command keeps: 0 ok, 1 the operation failed, 2 the command line is wrong. */
export const exitCodes = { ok: 0, failure: 1, usage: 2 } as const;

/**
 * The `runtools` program: every subcommand registers itself here. Commander prints usage errors
 * and `--help`; `run()` turns its outcome and our own errors into exit codes.
 */
export function createProgram(commands: Command[]): Command {
  const program = new Command('runtools')
    .description('Define AI agents in TypeScript, run them in sandboxes, serve them as APIs.')
    .version('0.1.0', '-v, --version')
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true });
  for (const command of commands) program.addCommand(command);
  return program;
}

/** Parses argv, runs the command and returns the process exit code (never throws). */
export async function runProgram(program: Command, argv: string[]): Promise<number> {
  program.exitOverride();
  for (const command of allCommands(program)) command.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? exitCodes.ok : Number(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; everything else Commander rejects is usage.
      if (error.exitCode === 0) return exitCodes.ok;
      return exitCodes.usage;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n`);
      return exitCodes.usage;
    }
    throw error;
  }
}

function* allCommands(command: Command): Generator<Command> {
  for (const sub of command.commands) {
    yield sub;
    yield* allCommands(sub);
  }
}
