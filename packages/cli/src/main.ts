import { RunToolsError } from '@runtools/sdk';
import { deployCommand } from './commands/deploy.ts';
import { devCommand } from './commands/dev.ts';
import { doctorCommand } from './commands/doctor.ts';
import { initCommand } from './commands/init.ts';
import { keysCommand } from './commands/keys.ts';
import { logsCommand } from './commands/logs.ts';
import { runCommand } from './commands/run.ts';
import { runsCommand } from './commands/runs.ts';
import { sandboxCommand } from './commands/sandbox.ts';
import { secretsCommand } from './commands/secrets.ts';
import { templatesCommand } from './commands/templates.ts';
import { toolsCommand } from './commands/tools.ts';
import { createProgram, exitCodes, runProgram } from './program.ts';

/** Every `runtools` subcommand, in the order `--help` lists them. */
const commands = () => [
  initCommand(),
  devCommand(),
  deployCommand(),
  runCommand(),
  logsCommand(),
  runsCommand(),
  sandboxCommand(),
  templatesCommand(),
  keysCommand(),
  secretsCommand(),
  toolsCommand(),
  doctorCommand(),
];

/** Runs `runtools ARGS…`; returns the exit code. Errors with a code are printed, not thrown. */
export async function main(args: string[]): Promise<number> {
  try {
    return await runProgram(createProgram(commands()), args);
  } catch (error) {
    if (error instanceof RunToolsError) {
      process.stderr.write(`error [${error.code}]: ${error.message}\n`);
      return exitCodes.failure;
    }
    process.stderr.write(`error: ${(error as Error)?.stack ?? String(error)}\n`);
    return exitCodes.failure;
  }
}
