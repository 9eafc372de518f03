import type { Template } from '@runtools/sdk';
import { Command } from 'commander';
import { type ClientFlags, createClient, withClientOptions } from '../client-config.ts';
import { formatTable, formatTime } from '../render/table.ts';
import { terminalStyle } from '../render/terminal-style.ts';
import { buildTemplate, readTemplateSource } from '../template-sync.ts';

interface JsonFlag extends ClientFlags {
  json?: boolean;
}

/** `runtools templates build|list`. */
export function templatesCommand(): Command {
  const templates = new Command('templates').description(
    'Build sandbox templates (a Dockerfile or a spec) and list them',
  );
  templates.addCommand(
    withClientOptions(
      new Command('build')
        .showHelpAfterError('(runtools templates build --help shows how to use it)')
        .description('Define a template on the server and build it, showing its progress')
        .argument(
          '<path>',
          'a directory with a Dockerfile (its files are the build context), or a spec JSON file',
        )
        .option('--slug <slug>', "the template's slug (default: the directory's or file's name)")
        .option('--json', 'print the template as JSON when it is built'),
    )
      .addHelpText(
        'after',
        '\nExamples:\n  runtools templates build templates/my-app\n  runtools templates build spec.json --slug python-tools\n\n' +
          'A spec file holds e.g. {"os": "debian-13", "apt": ["git"], "runtimes": [{"name": "node", "version": "22"}]}.',
      )
      .action(async (path: string, flags: JsonFlag & { slug?: string }) => {
        const rt = createClient(flags);
        const input = await readTemplateSource(path, flags.slug);
        const change = await buildTemplate(rt, input, { progress: process.stderr });
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(change.template, null, 2)}\n`);
          return;
        }
        const style = terminalStyle(process.stdout);
        const what =
          change.action === 'unchanged'
            ? 'unchanged: already built from this definition'
            : change.action === 'stored'
              ? 'stored: the server has no sandbox engine; it is built on first use'
              : 'built';
        process.stdout.write(
          `${style.bold(`template ${change.slug}`)} ${what} (version ${change.template.version ?? '-'})\n`,
        );
      }),
  );
  templates.addCommand(
    withClientOptions(
      new Command('list')
        .showHelpAfterError('(runtools templates list --help shows how to use it)')
        .description('System templates and the ones defined on the server')
        .option('--json', 'print the templates as a JSON array'),
    ).action(async (flags: JsonFlag) => {
      const rt = createClient(flags);
      const all: Template[] = [];
      let cursor: string | undefined;
      do {
        const page = await rt.templates.list({ limit: 100, ...(cursor ? { cursor } : {}) });
        all.push(...page.data);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
        return;
      }
      const out = process.stdout;
      const style = terminalStyle(out);
      const paint = (status: string) =>
        status === 'ready'
          ? style.green(status)
          : status === 'failed'
            ? style.red(status)
            : style.yellow(status);
      const rows = all.map((t) => [
        t.slug,
        t.kind,
        paint(t.status),
        t.version ?? '-',
        t.local ? formatSize(t.local.sizeBytes) : '-',
        formatTime(t.updatedAt ?? t.local?.createdAt),
      ]);
      out.write(formatTable(['SLUG', 'KIND', 'STATUS', 'VERSION', 'SIZE', 'UPDATED'], rows, out));
    }),
  );
  return templates;
}

function formatSize(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.ceil(bytes / 1024)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}
