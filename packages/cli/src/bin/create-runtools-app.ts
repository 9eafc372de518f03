#!/usr/bin/env node
import * as p from '@clack/prompts';
import { RunToolsError } from '@runtools/sdk';
import { Command } from 'commander';
import { initProject } from '../commands/init.ts';
import { exitCodes, runProgram } from '../program.ts';
import { isValidProjectName, projectNameFor } from '../scaffold/scaffold.ts';

/** `create-runtools-app <name>`: a new folder with a RunTools project (as `runtools init` makes). */
const program = new Command('create-runtools-app')
  .description('Create a RunTools project in a new folder')
  .argument('[name]', 'the folder and package name (asked for when a terminal is attached)')
  .option('--model <model>', "model of the example agent (default: 'auto')")
  .option('-y, --yes', 'no prompts: take the flags and defaults')
  .option('-f, --force', 'overwrite files that exist')
  .version('0.1.0', '-v, --version')
  .action(
    async (name: string | undefined, flags: { model?: string; yes?: boolean; force?: boolean }) => {
      const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY && !flags.yes);
      if (name === undefined && !interactive) {
        program.error(
          "error: missing required argument 'name' (e.g. create-runtools-app my-agents)",
        );
      }
      let dir = name;
      if (dir === undefined) {
        const answer = await p.text({
          message: 'Project folder',
          initialValue: 'my-agents',
          validate: (v) =>
            v && isValidProjectName(projectNameFor(v)) ? undefined : 'A folder name.',
        });
        if (p.isCancel(answer)) {
          p.cancel('Cancelled: nothing was written.');
          process.exitCode = exitCodes.failure;
          return;
        }
        dir = answer;
      }
      await initProject({
        dir,
        name: projectNameFor(dir),
        ...flags,
        command: 'create-runtools-app',
      });
    },
  );

try {
  process.exitCode = await runProgram(program, process.argv.slice(2));
} catch (error) {
  process.stderr.write(
    error instanceof RunToolsError
      ? `error [${error.code}]: ${error.message}\n`
      : `error: ${(error as Error)?.stack ?? String(error)}\n`,
  );
  process.exitCode = exitCodes.failure;
}
