import type { RunStatus } from '@runtools/sdk/api';
import { useMutation } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useSession } from '../session.tsx';
import type { RunBlock } from './run-event-log.ts';
import { Button, ErrorNotice, Time } from './ui.tsx';

type ApprovalBlock = Extract<RunBlock, { kind: 'approval' }>;

const outcomes = {
  approved: 'Approved',
  denied: 'Denied',
  expired: 'No answer in time: denied',
} as const;

/**
 * A tool call the run asks a person about: its input, and while the run waits for it, approve and
 * deny (with a reason the agent reads); once answered, the answer. The run's events bring the
 * answer, whoever gave it (this page, another, the CLI or the API).
 */
export function RunApproval({
  block,
  runId,
  status,
}: {
  block: ApprovalBlock;
  runId: string;
  status: RunStatus | null;
}) {
  const { client, can } = useSession();
  const [reason, setReason] = useState('');
  const reasonId = useId();
  const answer = useMutation({
    mutationFn: (approved: boolean) => {
      const options = reason.trim() === '' ? {} : { reason: reason.trim() };
      return approved
        ? client.runs.approve(runId, block.callId, options)
        : client.runs.deny(runId, block.callId, options);
    },
  });
  const open = block.decision === undefined;
  const answerable = open && status === 'waiting' && can('run');
  const input =
    block.tool === 'bash' && typeof (block.input as { command?: unknown })?.command === 'string'
      ? (block.input as { command: string }).command
      : JSON.stringify(block.input, null, 2);
  return (
    <section
      aria-label={`Approval of ${block.tool}`}
      data-events={block.events}
      data-seq={block.key}
      className="rounded-md border border-violet-300 bg-violet-50/50 p-3 text-sm dark:border-violet-800 dark:bg-violet-950/30"
    >
      <h3 className="font-semibold">
        {open ? (
          <>
            <span className="font-mono">{block.tool}</span> waits for approval
          </>
        ) : (
          <>
            {outcomes[block.decision ?? 'denied']}: <span className="font-mono">{block.tool}</span>
          </>
        )}
      </h3>
      {input !== undefined ? (
        <pre className="mt-2 max-h-64 overflow-auto whitespace-pre-wrap break-words rounded bg-white/70 p-2 font-mono text-xs dark:bg-zinc-900">
          {input}
        </pre>
      ) : null}
      {block.reason ? <p className="mt-2">Reason: {block.reason}</p> : null}
      {open ? (
        <p className="mt-2 text-xs text-zinc-600 dark:text-zinc-400">
          The run's sandbox is paused until then. Unanswered, it is denied at{' '}
          <Time iso={block.expiresAt} />.
        </p>
      ) : null}
      {answerable ? (
        <form
          className="mt-3 flex flex-wrap items-end gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            answer.mutate(true);
          }}
        >
          <div className="flex min-w-64 flex-1 flex-col gap-1">
            <label htmlFor={reasonId} className="text-xs font-medium">
              Reason (optional; the agent reads it)
            </label>
            <input
              id={reasonId}
              value={reason}
              maxLength={2000}
              onChange={(e) => setReason(e.target.value)}
              className="rounded-md border border-zinc-300 bg-white px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900"
            />
          </div>
          <Button type="submit" variant="primary" disabled={answer.isPending}>
            Approve
          </Button>
          <Button variant="danger" disabled={answer.isPending} onClick={() => answer.mutate(false)}>
            Deny
          </Button>
        </form>
      ) : null}
      {answer.isError ? <ErrorNotice error={answer.error} /> : null}
    </section>
  );
}
