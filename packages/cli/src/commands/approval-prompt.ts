import { createInterface } from 'node:readline/promises';
import { type RunEvent, type RunTools, RunToolsError } from '@runtools/sdk';
import { compactInput, truncate } from '../render/event-renderer.ts';
import { terminalStyle } from '../render/terminal-style.ts';

type ApprovalRequested = Extract<RunEvent, { type: 'approval_requested' }>;

/**
 * Asks the person at the terminal about a tool call a run waits to have approved, and sends the
 * answer: y approves; anything else denies, with an optional reason the agent sees. Without a
 * terminal to ask at, it says how to answer from elsewhere and the run keeps waiting.
 */
export async function answerApproval(
  rt: RunTools,
  runId: string,
  event: ApprovalRequested,
  options: { interactive: boolean },
): Promise<void> {
  const err = terminalStyle(process.stderr);
  const how = `runtools runs approve ${runId}  (or deny ${runId} --reason "…")`;
  if (!options.interactive) {
    process.stderr.write(err.dim(`  answer with: ${how}\n`));
    return;
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const asked = new AbortController();
  // Ctrl-C at the question leaves the run waiting (it can be answered later) and stops asking.
  rl.on('SIGINT', () => asked.abort());
  try {
    // A workflow's approval step asks its message; a tool call shows the call.
    const message = (event.input as { message?: unknown } | null)?.message;
    const question =
      event.workflowStep === event.tool && typeof message === 'string'
        ? `Step ${err.bold(event.tool)} asks: ${truncate(message, 200)} Approve? [y/N] `
        : `Allow ${err.bold(event.tool)} ${truncate(compactInput(event.input), 200)}? [y/N] `;
    const yes = await rl.question(`${err.yellow('?')} ${question}`, { signal: asked.signal });
    if (/^y(es)?$/i.test(yes.trim())) {
      await send(() => rt.runs.approve(runId, event.callId));
      return;
    }
    const reason = (
      await rl.question(err.dim('  Why? (the agent reads it; Enter to skip) '), {
        signal: asked.signal,
      })
    ).trim();
    await send(() =>
      rt.runs.deny(runId, event.callId, reason === '' ? {} : { reason: reason.slice(0, 2000) }),
    );
  } catch (error) {
    if ((error as Error)?.name !== 'AbortError') throw error;
    process.stderr.write(err.dim(`\n  not answered; the run waits: ${how}\n`));
  } finally {
    rl.close();
  }
}

/** Sends an answer; one given elsewhere first (the dashboard, another terminal) is not an error. */
async function send(answer: () => Promise<unknown>): Promise<void> {
  try {
    await answer();
  } catch (error) {
    if (
      RunToolsError.isInstance(error) &&
      (error.code === 'run_state' || error.code === 'approval_not_found')
    ) {
      process.stderr.write(terminalStyle(process.stderr).dim('  already answered elsewhere\n'));
      return;
    }
    throw error;
  }
}
