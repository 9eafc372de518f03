import { type ApprovalDecision, type RunApproval, RunToolsError } from '@runtools/sdk';
import type { Run } from '../store/runs.ts';
import { type RunLifecycle, recordRunEvents } from './run-lifecycle.ts';

/**
 * Answers the approval a waiting run asks for and queues the run, which continues (its sandbox
 * resumed) with the call run or, unless `approved`, denied; records `approval_resolved` and the
 * `queued` status. The API's answers and the expiry sweep both come through here.
 */
export async function answerRunApproval(
  lifecycle: RunLifecycle,
  runId: string,
  callId: string,
  answer: { decision: ApprovalDecision; reason?: string },
): Promise<Run> {
  const run = await lifecycle.store.runs.answerApproval(runId, callId, answer);
  const approval = run.approval;
  await recordRunEvents(lifecycle, runId, [
    {
      type: 'approval_resolved',
      step: approval?.step ?? 0,
      callId,
      tool: approval?.tool ?? '',
      decision: answer.decision,
      ...(answer.reason === undefined ? {} : { reason: answer.reason }),
    },
    { type: 'status', status: 'queued', reason: `approval_${answer.decision}` },
  ]);
  return run;
}

/**
 * Denies, as `expired`, every approval whose time ran out (whichever server answers first: the
 * answer is a compare-and-set, so a run is expired once). Returns how many it expired.
 */
export async function expireApprovals(lifecycle: RunLifecycle): Promise<number> {
  let expired = 0;
  for (const id of await lifecycle.store.runs.expiredApprovals()) {
    const run = await lifecycle.store.runs.get(id);
    if (run?.approval === null || run === undefined) continue;
    try {
      await answerRunApproval(lifecycle, id, run.approval.callId, { decision: 'expired' });
      expired++;
    } catch (error) {
      // Answered or cancelled meanwhile.
      if (!RunToolsError.isInstance(error)) throw error;
    }
  }
  return expired;
}

/** What a waiting run asks a person about (without its stored answer); null for other runs. */
export function pendingApproval(run: Run): RunApproval | null {
  if (run.status !== 'waiting' || run.approval === null) return null;
  const { answer: _, ...approval } = run.approval;
  return approval;
}
