import type { Sandbox } from '@runtools/sdk/api';
import { useState } from 'react';
import { useSession } from '../session.tsx';
import { type SandboxAction, usePendingAction, useSandboxAction } from './sandbox-queries.ts';
import { Button, StatusBadge } from './ui.tsx';

const underway: Record<SandboxAction, string> = {
  pause: 'pausing…',
  resume: 'resuming…',
  delete: 'deleting…',
};

/**
 * A sandbox's state as a word, or the action under way (`pausing…`); announced to screen
 * readers as it changes.
 */
export function SandboxStateBadge({ sandbox }: { sandbox: Pick<Sandbox, 'id' | 'state'> }) {
  const pending = usePendingAction(sandbox.id);
  return (
    <span role="status" aria-label={`State of ${sandbox.id}`}>
      <StatusBadge status={pending ? underway[pending] : sandbox.state} />
    </span>
  );
}

/**
 * Pause or resume (whichever the state allows) and delete, the delete asked twice. Each button
 * names the sandbox, so a list of them reads well to a screen reader.
 */
export function SandboxActions({
  sandbox,
  onDeleted,
}: {
  sandbox: Pick<Sandbox, 'id' | 'state'>;
  onDeleted?: () => void;
}) {
  const { can } = useSession();
  const action = useSandboxAction(sandbox.id, onDeleted);
  const pending = usePendingAction(sandbox.id);
  // Focus follows the question and, when it is withdrawn, goes back to Delete.
  const [confirming, setConfirming] = useState<'no' | 'asking' | 'withdrawn'>('no');

  if (!can('sandboxes')) return null;
  const busy = pending !== undefined;
  const { id, state } = sandbox;
  return (
    <div className="flex flex-wrap items-center gap-2">
      {state === 'paused' ? (
        <Button aria-label={`Resume ${id}`} disabled={busy} onClick={() => action.mutate('resume')}>
          Resume
        </Button>
      ) : (
        <Button
          aria-label={`Pause ${id}`}
          disabled={busy || state !== 'running'}
          onClick={() => action.mutate('pause')}
        >
          Pause
        </Button>
      )}
      {confirming === 'asking' ? (
        <>
          <Button
            autoFocus
            variant="danger"
            aria-label={`Confirm: delete ${id}`}
            disabled={busy}
            onClick={() => {
              setConfirming('no');
              action.mutate('delete');
            }}
          >
            Delete it
          </Button>
          <Button aria-label={`Keep ${id}`} onClick={() => setConfirming('withdrawn')}>
            Keep
          </Button>
        </>
      ) : (
        <Button
          autoFocus={confirming === 'withdrawn'}
          aria-label={`Delete ${id}`}
          disabled={busy}
          onClick={() => setConfirming('asking')}
        >
          Delete
        </Button>
      )}
      {action.error ? (
        <p role="alert" className="w-full text-xs text-red-700 dark:text-red-400">
          {(action.error as { code?: string }).code ?? 'error'}: {action.error.message}
        </p>
      ) : null}
    </div>
  );
}
