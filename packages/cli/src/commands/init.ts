import { relative, resolve } from 'node:path';
import { styleText } from 'node:util';
import * as p from '@clack/prompts';
import { Command } from 'commander';
import { exitCodes } from '../program.ts';
import {
  existingProjectFiles,
  isValidProjectName,
  projectNameFor,
  type ScaffoldResult,
  scaffoldProject,
} from '../scaffold/scaffold.ts';
import { UsageError } from '../usage-error.ts';

export interface InitOptions {
  /** Where the project goes (created when missing). */
  dir: string;
  name?: string;
  model?: string;
  /** No prompts: take flags and defaults. */
  yes?: boolean;
  force?: boolean;
  /** How the user invoked us, for the messages (`runtools init`, `create-runtools-app`). */
  command: string;
}

const out = process.stdout;
const paint = (format: Parameters<typeof styleText>[0], text: string) =>
  styleText(format, text, { stream: out });

/**
 * Scaffolds a project: with a terminal (stdin and stdout are TTYs, no `--yes`) it asks for the
 * name and the model and whether to overwrite existing files; otherwise it takes the flags, and
 * existing files without `--force` fail with exit code 1 and nothing written. A bad flag is a
 * usage error (exit code 2).
 */
export async function initProject(options: InitOptions): Promise<void> {
  const dir = resolve(options.dir);
  if (options.name !== undefined && !isValidProjectName(options.name)) {
    throw new UsageError(
      `--name "${options.name}" is not a valid package name: use lowercase letters, digits, "-", "." and "_".`,
    );
  }
  if (options.model !== undefined && options.model.trim() === '') {
    throw new UsageError('--model must not be empty (e.g. --model auto).');
  }
  const interactive = !options.yes && Boolean(process.stdin.isTTY && out.isTTY);
  if (interactive) return initInteractively(dir, options);
  const result = await scaffoldProject({
    dir,
    name: options.name ?? projectNameFor(dir),
    ...(options.model ? { model: options.model } : {}),
    ...(options.force ? { force: true } : {}),
  });
  out.write(`${summary(dir, result)}\n\n${nextSteps(dir)}\n`);
}

async function initInteractively(dir: string, options: InitOptions): Promise<void> {
  p.intro(paint('inverse', ` ${options.command} `));
  const name =
    options.name ??
    (await p.text({
      message: 'Project name',
      initialValue: projectNameFor(dir),
      validate: (value) =>
        value && isValidProjectName(value)
          ? undefined
          : 'Use lowercase letters, digits, "-", "." and "_".',
    }));
  if (p.isCancel(name)) return cancelled();
  let model = options.model;
  if (model === undefined) {
    const { AUTO_MODELS } = await import('@runtools/agent');
    const choice = await p.select({
      message: 'Model of the code-assistant agent',
      initialValue: 'auto',
      options: [
        {
          value: 'auto',
          label: 'auto',
          hint: 'Claude, GPT or Gemini, whichever key the server has; the scripted demo model without one',
        },
        { value: AUTO_MODELS.anthropic, label: AUTO_MODELS.anthropic, hint: 'ANTHROPIC_API_KEY' },
        { value: AUTO_MODELS.openai, label: AUTO_MODELS.openai, hint: 'OPENAI_API_KEY' },
        {
          value: AUTO_MODELS.google,
          label: AUTO_MODELS.google,
          hint: 'GOOGLE_GENERATIVE_AI_API_KEY',
        },
        {
          value: 'scripted',
          label: 'scripted',
          hint: 'the demo model, always (no key, no network)',
        },
      ],
    });
    if (p.isCancel(choice)) return cancelled();
    model = choice;
  }
  let force = options.force ?? false;
  const existing = existingProjectFiles(dir);
  if (existing.length && !force) {
    const overwrite = await p.confirm({
      message: `Overwrite ${existing.join(', ')}?`,
      initialValue: false,
    });
    if (p.isCancel(overwrite) || !overwrite) return cancelled('Nothing was written.');
    force = true;
  }
  const result = await scaffoldProject({ dir, name, model, force });
  p.note(summary(dir, result), 'Files');
  p.outro(nextSteps(dir));
}

function cancelled(message = 'Cancelled: nothing was written.'): void {
  p.cancel(message);
  process.exitCode = exitCodes.failure;
}

function summary(dir: string, result: ScaffoldResult): string {
  const lines = [`Created a RunTools project in ${dir}:`];
  for (const file of result.written) {
    const mark = result.overwritten.includes(file) ? paint('yellow', '~') : paint('green', '+');
    lines.push(`  ${mark} ${file}${result.overwritten.includes(file) ? ' (overwritten)' : ''}`);
  }
  if (result.gitignoreUpdated) lines.push(`  ${paint('yellow', '~')} .gitignore (lines added)`);
  for (const { name, target } of result.linked) {
    lines.push(
      `  ${paint('green', '+')} node_modules/${name} → ${target} ${paint('dim', "(this CLI's copy)")}`,
    );
  }
  return lines.join('\n');
}

function nextSteps(dir: string): string {
  const rel = relative(process.cwd(), dir);
  const path = rel.startsWith('..') ? dir : rel;
  const cd = rel === '' ? '' : `  cd ${path.includes(' ') ? JSON.stringify(path) : path}\n`;
  return `Next:\n${cd}  runtools dev        ${paint('dim', '# serves agents/*.ts at http://127.0.0.1:3000/v1/run/<slug>')}`;
}

/** `runtools init [dir]`. */
export function initCommand(): Command {
  return new Command('init')
    .description('Scaffold a RunTools project (config, an example agent, templates/) in a folder')
    .argument('[dir]', 'the project folder (created when missing)', '.')
    .option('--name <name>', 'package name (default: from the folder name)')
    .option('--model <model>', "model of the example agent (default: 'auto')")
    .option('-y, --yes', 'no prompts: take the flags and defaults')
    .option('-f, --force', 'overwrite files that exist')
    .addHelpText(
      'after',
      '\nExisting files are never overwritten without --force: without it, init lists them, writes nothing\nand exits with code 1. Prompts appear only when stdin and stdout are a terminal.',
    )
    .action(async (dir: string, flags: Omit<InitOptions, 'dir' | 'command'>) => {
      await initProject({ dir, ...flags, command: 'runtools init' });
    });
}
