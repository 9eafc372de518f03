import { lazy, type ReactNode, Suspense } from 'react';
import {
  type EdgeRole,
  roleLabel,
  roleTarget,
  stepRoles,
  stepSummary,
  type WorkflowValue,
} from './workflow-model.ts';

/** Where a step of a run stands, as the graph draws it. */
export type StepState = 'running' | 'completed' | 'failed' | 'interrupted';

// The graph's libraries (React Flow, ELK) load when a workflow is shown, not with the page.
const WorkflowGraph = lazy(() =>
  import('./workflow-graph.tsx').then((m) => ({ default: m.WorkflowGraph })),
);

const stateText: Record<StepState, string> = {
  running: 'running',
  completed: 'done',
  failed: 'failed',
  interrupted: 'interrupted',
};

/**
 * A workflow: its graph, and the same steps as a list (the graph's text alternative, and the
 * keyboard's way to pick a step). `detail` shows beside them what the page has to say of the
 * selected step: its output on a run page, its editor in the builder.
 */
export function WorkflowView({
  workflow,
  states,
  selected,
  onSelect,
  onConnect,
  detail,
  label = 'Workflow graph',
}: {
  workflow: WorkflowValue;
  states?: Readonly<Record<string, StepState>>;
  selected: string | null;
  onSelect: (id: string) => void;
  onConnect?: (source: string, role: EdgeRole, target: string) => void;
  detail?: ReactNode;
  label?: string;
}) {
  return (
    <div className="grid gap-4 lg:grid-cols-[2fr_1fr]">
      <div className="space-y-3">
        <Suspense
          fallback={
            <p role="status" className="text-sm text-zinc-500">
              Loading the graph…
            </p>
          }
        >
          <WorkflowGraph
            workflow={workflow}
            label={label}
            selected={selected}
            onSelect={onSelect}
            {...(states ? { states } : {})}
            {...(onConnect ? { onConnect } : {})}
          />
        </Suspense>
        <details className="text-sm" open>
          <summary className="cursor-pointer font-medium">Steps as a list</summary>
          <ol aria-label="Workflow steps" className="mt-2 space-y-1">
            {Object.entries(workflow.steps).map(([id, step]) => {
              const state = states?.[id];
              const edges = stepRoles(step)
                .map((role: EdgeRole) => [roleLabel(role), roleTarget(step, role)] as const)
                .filter(([, target]) => target !== undefined)
                .map(([name, target]) => (name ? `${name} → ${target}` : `→ ${target}`));
              return (
                <li key={id} data-step-item={id} data-state={state ?? 'idle'}>
                  <button
                    type="button"
                    aria-pressed={selected === id}
                    onClick={() => onSelect(id)}
                    className={`w-full rounded px-2 py-1 text-left hover:bg-zinc-100 dark:hover:bg-zinc-800 ${selected === id ? 'bg-zinc-100 dark:bg-zinc-800' : ''}`}
                  >
                    <span className="font-mono font-semibold">{id}</span>{' '}
                    <span className="text-zinc-500 dark:text-zinc-400">
                      ({step.kind}
                      {workflow.start === id ? ', start' : ''})
                    </span>{' '}
                    {stepSummary(step)}
                    {edges.length > 0 ? (
                      <span className="text-zinc-500 dark:text-zinc-400"> {edges.join(', ')}</span>
                    ) : (
                      <span className="text-zinc-500 dark:text-zinc-400"> (ends)</span>
                    )}
                    {state ? <strong className="ml-1">— {stateText[state]}</strong> : null}
                  </button>
                </li>
              );
            })}
          </ol>
        </details>
      </div>
      {detail ? <div>{detail}</div> : null}
    </div>
  );
}
