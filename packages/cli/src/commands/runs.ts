import {
  type Run,
  type RunEvent,
  type RunStatus,
  type RunTools,
  RunToolsError,
  runStatuses,
} from '@runtools/sdk';
import { Command, Option } from 'commander';
import { type ClientFlags, createClient, withClientOptions } from '../client-config.ts';
import { truncate } from '../render/event-renderer.ts';
import { formatFields, formatTable, formatTime } from '../render/table.ts';
import { terminalStyle } from '../render/terminal-style.ts';
import { integerOption } from './integer-option.ts';

const statuses: readonly RunStatus[] = runStatuses;

interface JsonFlag extends ClientFlags {
  json?: boolean;
}

interface ListFlags extends JsonFlag {
  status?: RunStatus;
  deployment?: string;
  limit: number;
}

/** `runtools runs list|get|pause|resume|cancel|approve|deny`. */
export function runsCommand(): Command {
  const runs = new Command('runs').description(
    'List runs, show one, and pause, resume, cancel it or answer its approval',
  );
  runs.addCommand(
    withClientOptions(
      new Command('list')
        .showHelpAfterError('(runtools runs list --help shows how to use it)')
        .description('The latest runs, newest first')
        .addOption(new Option('--status <status>', 'only runs in this status').choices(statuses))
        .option('--deployment <slug>', 'only runs of this deployment (its slug or id)')
        .addOption(
          new Option('-n, --limit <n>', 'how many runs').argParser(integerOption(1)).default(20),
        )
        .option('--json', 'print the runs as a JSON array'),
    ).action(async (flags: ListFlags) => {
      const rt = createClient(flags);
      const slugs = await deploymentSlugs(rt);
      const deploymentId =
        flags.deployment === undefined ? undefined : deploymentIdFor(flags.deployment, slugs);
      const page = await rt.runs.list({
        limit: flags.limit,
        status: flags.status,
        deploymentId: deploymentId,
      });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(page.data, null, 2)}\n`);
        return;
      }
      if (page.data.length === 0) {
        process.stderr.write('No runs yet. Start one with: runtools run <slug> "input"\n');
        return;
      }
      const out = process.stdout;
      const style = terminalStyle(out);
      const rows = page.data.map((run) => [
        run.id,
        slugs.get(run.deploymentId) ?? run.deploymentId,
        paintStatus(run.status, style),
        formatTime(run.createdAt),
      ]);
      out.write(formatTable(['ID', 'DEPLOYMENT', 'STATUS', 'CREATED'], rows, out));
    }),
  );
  runs.addCommand(
    withClientOptions(
      new Command('get')
        .showHelpAfterError('(runtools runs get --help shows how to use it)')
        .description('One run: its status, input, output, and a summary of its events')
        .argument('<run-id>')
        .option('--json', 'print the run and its events as JSON'),
    ).action(async (runId: string, flags: JsonFlag) => {
      const rt = createClient(flags);
      const run = await rt.runs.get(runId);
      const events = await rt.runs.events(runId);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ ...run, events }, null, 2)}\n`);
        return;
      }
      const deployment = await rt.deployments.get(run.deploymentId).catch(() => undefined);
      process.stdout.write(describeRun(run, deployment?.apiSlug, events));
    }),
  );
  for (const [name, description] of [
    ['pause', 'Pause a run after its current step (resume continues it)'],
    ['resume', 'Queue a paused run again'],
    ['cancel', 'Cancel a run: its model call and tool process are stopped'],
  ] as const) {
    runs.addCommand(
      withClientOptions(
        new Command(name)
          .showHelpAfterError(`(runtools runs ${name} --help shows how to use it)`)
          .description(description)
          .argument('<run-id>')
          .option('--json', 'print the run as JSON'),
      ).action(async (runId: string, flags: JsonFlag) => {
        const rt = createClient(flags);
        const run = await rt.runs[name](runId);
        if (flags.json) process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
        else {
          process.stdout.write(
            `${run.id}: ${paintStatus(run.status, terminalStyle(process.stdout))}\n`,
          );
        }
      }),
    );
  }
  for (const [name, description] of [
    ['approve', 'Approve the tool call a waiting run asks about: the call runs'],
    ['deny', 'Deny it: the agent gets the denial (and --reason) as the call result'],
  ] as const) {
    runs.addCommand(
      withClientOptions(
        new Command(name)
          .showHelpAfterError(`(runtools runs ${name} --help shows how to use it)`)
          .description(description)
          .argument('<run-id>')
          .argument('[call-id]', 'the call it asks about (default: the one it waits for now)')
          .option('--reason <text>', 'why (the agent reads it)')
          .option('--json', 'print the run as JSON'),
      ).action(
        async (
          runId: string,
          callId: string | undefined,
          flags: JsonFlag & { reason?: string },
        ) => {
          const rt = createClient(flags);
          const call = callId ?? (await rt.runs.get(runId)).approval?.callId;
          if (call === undefined) {
            throw new RunToolsError(
              'approval_not_found',
              `Run ${runId} is not waiting for an approval (runtools runs get ${runId} shows its status).`,
            );
          }
          const options = flags.reason === undefined ? {} : { reason: flags.reason };
          const run = await rt.runs[name](runId, call, options);
          if (flags.json) process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
          else {
            process.stdout.write(
              `${run.id}: ${name === 'approve' ? 'approved' : 'denied'} ${call}; ${paintStatus(run.status, terminalStyle(process.stdout))}\n`,
            );
          }
        },
      ),
    );
  }
  return runs;
}

/** Deployment id → slug, for the runs' DEPLOYMENT column. */
async function deploymentSlugs(rt: RunTools): Promise<Map<string, string>> {
  const slugs = new Map<string, string>();
  let cursor: string | undefined;
  // A few pages are plenty for a table; an unknown id is shown as is.
  for (let page = 0; page < 10; page += 1) {
    const deployments = await rt.deployments.list({ limit: 100, cursor });
    for (const deployment of deployments.data) slugs.set(deployment.id, deployment.apiSlug);
    if (deployments.nextCursor === null) break;
    cursor = deployments.nextCursor;
  }
  return slugs;
}

function deploymentIdFor(value: string, slugs: Map<string, string>): string {
  if (slugs.has(value)) return value;
  for (const [id, slug] of slugs) if (slug === value) return id;
  throw new RunToolsError(
    'deployment_not_found',
    `No deployment "${value}" (runtools deploy creates them).`,
  );
}

function paintStatus(status: string, style: ReturnType<typeof terminalStyle>): string {
  if (status === 'completed') return style.green(status);
  if (status === 'failed') return style.red(status);
  if (status === 'cancelled' || status === 'paused' || status === 'waiting')
    return style.yellow(status);
  return status;
}

function describeRun(run: Run, slug: string | undefined, events: RunEvent[]): string {
  const out = process.stdout;
  const style = terminalStyle(out);
  const text = (value: unknown) =>
    value === null || value === undefined
      ? '-'
      : typeof value === 'string'
        ? value
        : JSON.stringify(value, null, 2);
  const output = (run.output as { text?: unknown } | null)?.text ?? run.output;
  return formatFields(
    [
      ['id', run.id],
      ['deployment', slug ? `${slug} (${run.deploymentId})` : run.deploymentId],
      ['status', paintStatus(run.status, style)],
      ['created', formatTime(run.createdAt)],
      ['started', formatTime(run.startedAt)],
      ['finished', formatTime(run.finishedAt)],
      ['attempts', String(run.attempts)],
      ['input', truncate(text(run.input), 2000)],
      ['output', truncate(text(output), 2000)],
      ['error', run.error ? style.red(`[${run.error.code}] ${run.error.message}`) : '-'],
      ['events', `${summariseEvents(events)}  ${style.dim(`(runtools logs ${run.id})`)}`],
    ],
    out,
  );
}

/** `14 events: 3 steps, 2 tool calls (bash ×2), 1 tool error`. */
export function summariseEvents(events: readonly RunEvent[]): string {
  if (events.length === 0) return '0 events';
  const tools = new Map<string, number>();
  let steps = 0;
  let toolErrors = 0;
  let errors = 0;
  for (const event of events) {
    if (event.type === 'tool_call') tools.set(event.name, (tools.get(event.name) ?? 0) + 1);
    else if (event.type === 'step') steps += 1;
    else if (event.type === 'tool_result' && event.isError) toolErrors += 1;
    else if (event.type === 'error') errors += 1;
  }
  const calls = [...tools.values()].reduce((sum, n) => sum + n, 0);
  const parts = [`${steps} step${steps === 1 ? '' : 's'}`];
  parts.push(
    `${calls} tool call${calls === 1 ? '' : 's'}` +
      (calls > 0 ? ` (${[...tools].map(([name, n]) => `${name} ×${n}`).join(', ')})` : ''),
  );
  if (toolErrors > 0) parts.push(`${toolErrors} tool error${toolErrors === 1 ? '' : 's'}`);
  if (errors > 0) parts.push(`${errors} error${errors === 1 ? '' : 's'}`);
  return `${events.length} events: ${parts.join(', ')}`;
}
