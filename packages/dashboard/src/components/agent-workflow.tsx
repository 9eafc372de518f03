import { useState } from 'react';
import { asWorkflow, setEdge, type WorkflowValue } from './workflow-model.ts';
import { WorkflowStepEditor } from './workflow-step-editor.tsx';
import { WorkflowView } from './workflow-view.tsx';

/**
 * The agent page's workflow tab: the graph of the agent's `workflow` field and, when the builder
 * may write it, the step editor beside it. Each edit hands the whole workflow to `set`, changed
 * only where the graph changed; the page's review and save write it through the builder's API.
 * Loaded lazily by the agent page: the graph's code comes only with a workflow.
 */
export function AgentWorkflow({
  value,
  editable,
  reason,
  set,
}: {
  value: unknown;
  editable: boolean;
  reason?: string | undefined;
  set: (workflow: WorkflowValue) => void;
}) {
  const [step, setStep] = useState<string | null>(null);
  const workflow = asWorkflow(value);
  if (workflow === null) {
    return (
      <p className="text-sm text-zinc-500">The workflow is not a {'{ start, steps }'} object.</p>
    );
  }
  return (
    <div className="mb-4 space-y-2">
      {editable || reason === undefined ? null : (
        <p className="text-sm text-zinc-500">The workflow is read-only: {reason}.</p>
      )}
      <WorkflowView
        workflow={workflow}
        selected={step}
        onSelect={setStep}
        {...(editable
          ? {
              onConnect: (source, role, target) => set(setEdge(workflow, source, role, target)),
              detail: (
                <WorkflowStepEditor
                  workflow={workflow}
                  selected={step}
                  change={set}
                  select={setStep}
                />
              ),
            }
          : {})}
      />
    </div>
  );
}
