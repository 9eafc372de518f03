import type { RunStatus } from '@runtools/sdk/api';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useSession } from '../session.tsx';
import { Button, ErrorNotice } from './ui.tsx';

type Action = 'pause' | 'resume' | 'cancel';

/** What each control does, and in which statuses the API accepts it. */
const actions: Record<Action, { label: string; busy: string; from: readonly RunStatus[] }> = {
  pause: { label: 'Pause', busy: 'Pausing…', from: ['running'] },
  resume: { label: 'Resume', busy: 'Resuming…', from: ['paused'] },
  cancel: {
    label: 'Cancel',
    busy: 'Cancelling…',
    from: ['queued', 'running', 'paused', 'waiting'],
  },
};

/**
 * Pause, resume and cancel, each enabled in the statuses it applies to. A pause takes effect
 * after the step in flight, so the button says "Pausing…" until the run's status event comes;
 * the status shown is the run's own (from its events), not the button's guess.
 */
export function RunControls({ runId, status }: { runId: string; status: RunStatus | null }) {
  const { client, can } = useSession();
  const queries = useQueryClient();
  const control = useMutation({
    mutationFn: (action: Action) => client.runs[action](runId),
    onSettled: () => {
      void queries.invalidateQueries({ queryKey: ['run', runId] });
      void queries.invalidateQueries({ queryKey: ['runs'] });
    },
  });
  if (!can('run')) return null;
  const pending = control.isPending ? control.variables : undefined;
  return (
    <div className="flex flex-wrap items-center gap-2">
      <fieldset className="flex gap-2">
        <legend className="sr-only">Run controls</legend>
        {(Object.keys(actions) as Action[]).map((action) => {
          const { label, busy, from } = actions[action];
          const applies = status !== null && from.includes(status);
          return (
            <Button
              key={action}
              variant={action === 'cancel' ? 'danger' : 'secondary'}
              // A cancel may overtake a pause that waits for its step to end.
              disabled={!applies || (control.isPending && action !== 'cancel')}
              onClick={() => control.mutate(action)}
              className="disabled:opacity-40"
            >
              {pending === action ? busy : label}
            </Button>
          );
        })}
      </fieldset>
      {control.isError ? <ErrorNotice error={control.error} /> : null}
    </div>
  );
}
