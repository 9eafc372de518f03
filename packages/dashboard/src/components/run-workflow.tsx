import { isTerminalStatus, type RunStatus } from '@runtools/sdk/api';
import { useState } from 'react';
import type { WorkflowStepProgress } from './run-event-log.ts';
import { asWorkflow } from './workflow-model.ts';
import { type StepState, WorkflowView } from './workflow-view.tsx';

/** A step's output as text: a string as it is, anything else as JSON. */
function outputText(output: unknown): string {
  return typeof output === 'string' ? output : JSON.stringify(output, null, 2);
}

/**
 * A run's workflow, live: the graph with the running step highlighted, completed steps marked,
 * a failed or interrupted step marked (a step still running when the run ended was
 * interrupted), and the selected step's output. Follows the running step until a step is
 * picked.
 */
export function RunWorkflow({
  workflow,
  progress,
  status,
}: {
  /** The runtime's stored workflow (shown when it has a workflow's shape). */
  workflow: unknown;
  progress: Readonly<Record<string, WorkflowStepProgress>>;
  status: RunStatus | null;
}) {
  const [picked, setPicked] = useState<string | null>(null);
  const graph = asWorkflow(workflow);
  const ended = status !== null && isTerminalStatus(status);
  const states: Record<string, StepState> = {};
  for (const [id, p] of Object.entries(progress)) {
    states[id] = p.state === 'running' && ended ? 'interrupted' : p.state;
  }
  const running = Object.keys(states).filter((id) => states[id] === 'running');
  const selected = picked ?? running.at(-1) ?? null;
  const step = selected === null ? undefined : progress[selected];
  if (graph === null) return null;
  return (
    <section aria-labelledby="run-workflow" className="space-y-2">
      <h3 id="run-workflow" className="text-sm font-semibold">
        Workflow
        <span className="ml-2 text-xs font-normal text-zinc-600 dark:text-zinc-400">
          {running.length > 0 ? `running: ${running.join(', ')}` : ended ? 'ended' : 'waiting'}
        </span>
      </h3>
      <WorkflowView
        workflow={graph}
        states={states}
        selected={selected}
        onSelect={setPicked}
        label="Workflow graph of this run"
        detail={
          selected === null ? (
            <p className="text-sm text-zinc-500">Select a step to see its output.</p>
          ) : (
            <section
              aria-label={`Step ${selected} output`}
              className="space-y-2 rounded border border-zinc-200 p-3 text-sm dark:border-zinc-800"
            >
              <h4 className="font-mono font-semibold">{selected}</h4>
              {step === undefined ? (
                <p className="text-zinc-500">Not run (yet).</p>
              ) : (
                <>
                  <p>
                    {states[selected]}
                    {step.attempt > 1 ? ` (attempt ${step.attempt})` : ''}
                  </p>
                  {step.error ? (
                    <p className="text-red-700 dark:text-red-300">
                      <code>{step.error.code}</code>: {step.error.message}
                    </p>
                  ) : null}
                  {step.completed ? (
                    <pre
                      data-testid="step-output"
                      className="max-h-64 overflow-auto whitespace-pre-wrap break-words rounded bg-zinc-100 p-2 font-mono text-xs dark:bg-zinc-900"
                    >
                      {outputText(step.output)}
                    </pre>
                  ) : (
                    <p className="text-zinc-500">No output yet.</p>
                  )}
                </>
              )}
            </section>
          )
        }
      />
    </section>
  );
}
