import { doctor, formatDoctorReport, type PrerequisiteCheck } from '@runtools/sandbox';
import { Command } from 'commander';
import { exitCodes } from '../program.ts';
import { terminalStyle } from '../render/terminal-style.ts';

/** `runtools doctor`: every host prerequisite of the sandbox engine, with the fix for each. */
export function doctorCommand(): Command {
  return new Command('doctor')
    .showHelpAfterError('(runtools doctor --help shows how to use it)')
    .description('Check the host prerequisites (runc, CRIU, cgroups, …) and say how to fix them')
    .option('--json', 'print the checks as JSON')
    .addHelpText('after', '\nExit code: 1 when a required prerequisite is missing or broken.')
    .action(async (flags: { json?: boolean }) => {
      const checks = await doctor();
      const failed = checks.filter((check) => !check.optional && !(check.found && check.works));
      if (flags.json) process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
      else process.stdout.write(`${colourReport(formatDoctorReport(checks), checks)}\n`);
      process.exitCode = failed.length === 0 ? exitCodes.ok : exitCodes.failure;
    });
}

/** The report with each check's status word coloured (where stdout takes colours). */
function colourReport(report: string, checks: readonly PrerequisiteCheck[]): string {
  const style = terminalStyle(process.stdout);
  if (!style.colors) return report;
  const names = new Set(checks.map((check) => check.name));
  return report
    .split('\n')
    .map((line) => {
      const name = line.split(/\s{2,}/)[0] ?? '';
      if (names.has(name)) {
        return line
          .replace(/ ok( |$)/, (m) => style.green(m))
          .replace(/ (FAILED|MISSING)( |$)/, (m) => style.red(m))
          .replace(/ ((failed|missing) \(optional\))( |$)/, (m) => style.yellow(m));
      }
      if (line.trimStart().startsWith('fix: ')) return style.cyan(line);
      if (line.startsWith('doctor: '))
        return line.includes('failed') ? style.red(line) : style.green(line);
      return line;
    })
    .join('\n');
}
