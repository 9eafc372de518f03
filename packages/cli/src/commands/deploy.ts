import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadProjectStrict } from '@runtools/agent';
import { RunTools } from '@runtools/sdk';
import { Command } from 'commander';
import { type ClientFlags, resolveClientConfig, withClientOptions } from '../client-config.ts';
import { syncProject } from '../project-sync.ts';
import { terminalStyle } from '../render/terminal-style.ts';
import { syncTemplates } from '../template-sync.ts';

interface DeployFlags extends ClientFlags {
  dir?: string;
  prune?: boolean;
  json?: boolean;
}

/** `runtools deploy`: make a server serve this project's agents and templates. */
export function deployCommand(): Command {
  return withClientOptions(
    new Command('deploy')
      .showHelpAfterError('(runtools deploy --help shows how to use it)')
      .description(
        'Sync the project to a server: templates built, agents become runtimes and deployments',
      )
      .option('--dir <path>', 'the project (default: the nearest folder with runtools.config.ts)')
      .option('--prune', 'delete deployments no agent of the project has any more')
      .option('--json', 'print what changed and the endpoints as JSON'),
  )
    .addHelpText(
      'after',
      '\nRunning it again without a change to the project changes nothing on the server.\n\n' +
        'Examples:\n  runtools deploy --server https://agents.example.com --api-key $KEY\n  RUNTOOLS_SERVER=… RUNTOOLS_API_KEY=… runtools deploy',
    )
    .action(async (flags: DeployFlags) => {
      const root = flags.dir ? resolve(flags.dir) : projectRoot(process.cwd());
      const config = resolveClientConfig(flags, process.env, root);
      const rt = new RunTools({ baseUrl: config.baseUrl, apiKey: config.apiKey });
      const out = process.stdout;
      const style = terminalStyle(out);
      const say = (text: string) => {
        if (!flags.json) out.write(text);
      };
      const project = await loadProjectStrict(root);
      say(style.dim(`Deploying ${root} to ${config.baseUrl}\n`));

      const templates = await syncTemplates(rt, project.templates, {
        ...(flags.json ? {} : { progress: process.stderr }),
      });
      for (const t of templates) {
        if (t.action !== 'unchanged') say(`${style.green('✔')} template ${t.slug} ${t.action}\n`);
      }
      const sync = await syncProject(rt, project, {
        prune: flags.prune === true,
        onChange: (change) =>
          say(
            `${style.green('✔')} ${change.kind} ${change.slug} ${change.action} ${style.dim(`(${change.detail})`)}\n`,
          ),
      });
      const changed = sync.changes.length > 0 || templates.some((t) => t.action !== 'unchanged');
      const endpoints = sync.endpoints.map((e) => ({
        slug: e.slug,
        url: `${config.baseUrl.replace(/\/+$/, '')}/v1/run/${e.slug}`,
        template: e.template,
        runtimeVersion: e.runtimeVersion,
        file: e.file,
      }));
      if (flags.json) {
        out.write(
          `${JSON.stringify({ changed, templates: templates.map(({ slug, action }) => ({ slug, action })), changes: sync.changes, endpoints }, null, 2)}\n`,
        );
        return;
      }
      if (!changed) say('No changes: the server already serves this project as it is.\n');
      if (endpoints.length === 0) {
        say('The project has no agents yet (agents/NAME.ts).\n');
        return;
      }
      say(`\n${style.bold('Endpoints')}\n`);
      const width = Math.max(...endpoints.map((e) => e.slug.length));
      for (const e of endpoints) {
        say(
          `  ${e.slug.padEnd(width)}  POST ${style.cyan(e.url)}  ${style.dim(`(${e.file}, template ${e.template})`)}\n`,
        );
      }
      const first = endpoints[0];
      if (first) say(style.dim(`\nTry it: runtools run ${first.slug} "Hello"\n`));
    });
}

/** The nearest folder from `cwd` up with a `runtools.config.ts`, else `cwd` itself. */
function projectRoot(cwd: string): string {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'runtools.config.ts'))) return dir;
    if (dirname(dir) === dir) return resolve(cwd);
  }
}
