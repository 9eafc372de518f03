import { text } from 'node:stream/consumers';
import { type RunTools, RunToolsError } from '@runtools/sdk';
import { Command } from 'commander';
import { type ClientFlags, createClient, withClientOptions } from '../client-config.ts';
import { exitCodes } from '../program.ts';
import { printEvents } from '../render/event-renderer.ts';
import { terminalStyle } from '../render/terminal-style.ts';
import { UsageError } from '../usage-error.ts';
import { answerApproval } from './approval-prompt.ts';

interface RunFlags extends ClientFlags {
  json?: boolean;
  async?: boolean;
  metadata?: string;
}

/** `runtools run <slug> <input>`: start a run and draw its events live. */
export function runCommand(): Command {
  return withClientOptions(
    new Command('run')
      .showHelpAfterError('(runtools run --help shows how to use it)')
      .description(
        'Run a deployed agent and show its events live; asks here when a tool call needs approval (Ctrl-C cancels the run)',
      )
      .argument('<slug>', "the deployment's slug, as in POST /v1/run/{slug}")
      .argument('<input>', 'what to ask the agent; - reads it from stdin')
      .option('--json', 'print one JSON event per line on stdout, nothing else')
      .option('--async', 'start the run, print its id and return without waiting')
      .option('--metadata <json>', 'metadata to attach to the run (a JSON object)'),
  )
    .addHelpText(
      'after',
      '\nExit code: 0 when the run completed, 1 when it failed or was cancelled.\n' +
        '\nExamples:\n  runtools run code-assistant "List the files"\n  echo "Summarise this" | runtools run writer - --json',
    )
    .action(async (slug: string, input: string, flags: RunFlags) => {
      process.exitCode = await runAction(slug, input, flags);
    });
}

async function runAction(slug: string, inputArg: string, flags: RunFlags): Promise<number> {
  const metadata = parseMetadata(flags.metadata);
  const input = inputArg === '-' ? await text(process.stdin) : inputArg;
  const rt = createClient(flags);
  const err = terminalStyle(process.stderr);

  if (flags.async) {
    const started = await rt.run(slug, input, { wait: false, metadata });
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ runId: started.runId, status: started.status })}\n`);
    } else {
      process.stdout.write(`${started.runId}\n`);
      process.stderr.write(err.dim(`follow it with: runtools logs ${started.runId} --follow\n`));
    }
    return exitCodes.ok;
  }

  const cancel = new RunCanceller(rt);
  const onSigint = () => cancel.interrupt();
  process.on('SIGINT', onSigint);
  try {
    const events = rt.stream(slug, input, {
      metadata,
      signal: cancel.signal,
      onRun: (runId) => {
        if (!flags.json) process.stderr.write(err.dim(`run ${runId}\n`));
        cancel.started(runId);
      },
    });
    // Asked at this terminal when there is one to ask at (stdin not used for the input).
    const interactive = process.stdin.isTTY === true && inputArg !== '-' && flags.json !== true;
    const printed = await printEvents(events, {
      out: process.stdout,
      json: flags.json === true,
      after: async (event) => {
        if (event.type !== 'approval_requested' || cancel.runId === undefined) return;
        await answerApproval(rt, cancel.runId, event, { interactive });
      },
    });
    return printed.status === 'completed' ? exitCodes.ok : exitCodes.failure;
  } catch (error) {
    // The cancel request itself failed and gave up on the stream: that error was printed.
    if (cancel.signal.aborted) return exitCodes.failure;
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/**
 * Ctrl-C during a run: the first asks the server to cancel it (the stream then shows the run
 * ending as cancelled); a second one exits at once.
 */
class RunCanceller {
  readonly #rt: RunTools;
  readonly #abort = new AbortController();
  readonly #err = terminalStyle(process.stderr);
  #runId: string | undefined;
  #requested = false;

  constructor(rt: RunTools) {
    this.#rt = rt;
  }

  /** The run's id, once it started. */
  get runId(): string | undefined {
    return this.#runId;
  }

  /** Aborts the event stream when the cancel request could not be made. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  started(runId: string): void {
    this.#runId = runId;
    if (this.#requested) void this.#cancel(runId);
  }

  interrupt(): void {
    if (this.#requested) {
      process.stderr.write(this.#err.yellow('\nExiting without waiting for the run to end.\n'));
      process.exit(exitCodes.failure);
    }
    this.#requested = true;
    const which = this.#runId ?? 'as soon as it starts';
    process.stderr.write(
      this.#err.yellow(`\nCancelling run ${which}… (Ctrl-C again to exit now)\n`),
    );
    if (this.#runId !== undefined) void this.#cancel(this.#runId);
  }

  async #cancel(runId: string): Promise<void> {
    try {
      await this.#rt.runs.cancel(runId);
    } catch (error) {
      // `run_state`: it ended on its own meanwhile; the stream shows how.
      if (RunToolsError.isInstance(error) && error.code === 'run_state') return;
      const message = RunToolsError.isInstance(error)
        ? `error [${error.code}]: ${error.message}`
        : String(error);
      process.stderr.write(this.#err.red(`Could not cancel run ${runId}: ${message}\n`));
      this.#abort.abort(error);
    }
  }
}

function parseMetadata(value: string | undefined): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`--metadata must be a JSON object, e.g. '{"user":"ada"}'`);
  }
  return parsed as Record<string, unknown>;
}
