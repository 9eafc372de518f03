import { z } from 'zod';
import { timestampSchema } from './common.ts';

/**
 * How a tool's calls are approved: `always` asks a person before every call, `never` (the
 * default) runs them at once, and `input` asks the agent's own code, a function of the call's
 * input (`approvals: { bash: (input) => /\brm\b/.test(input.command) }`), which runs in the tool
 * runner of the agent's code bundle, never in the workspace sandbox. A function in an agent file
 * is stored as `input`.
 */
export const approvalRules = ['always', 'never', 'input'] as const;
export type ApprovalRule = (typeof approvalRules)[number];

/** The longest a run waits for an answer (`approvalTimeoutMs`), and the default: a day. */
export const approvalTimeouts = {
  defaultMs: 24 * 3600 * 1000,
  minMs: 1000,
  maxMs: 30 * 24 * 3600 * 1000,
} as const;

/**
 * The tool call a waiting run asks a person about: the run's `approval` while it is `waiting`,
 * the `approval_requested` event and the `run.waiting` webhook carry it.
 */
export const runApprovalSchema = z
  .object({
    /** The call's id (its `tool_call` event's `id`): answer it at `/v1/runs/{id}/approvals/{callId}`. */
    callId: z.string(),
    /** The tool's name, as the model called it. */
    tool: z.string(),
    /** The call's input, as validated. */
    input: z.unknown(),
    /** The model call (step) that made it. */
    step: z.number().int(),
    requestedAt: timestampSchema,
    /** After this the call is denied, with the reason `expired`. */
    expiresAt: timestampSchema,
  })
  .meta({ id: 'RunApproval' });

export type RunApproval = z.infer<typeof runApprovalSchema>;

/** `POST /v1/runs/{id}/approvals/{callId}`: the answer. A denial is an error result the model sees. */
export const approvalAnswerSchema = z
  .object({
    approved: z.boolean(),
    /** Why: the model sees it with a denial. */
    reason: z.string().max(2000).optional(),
  })
  .strict()
  .meta({ id: 'ApprovalAnswer' });

export type ApprovalAnswer = z.infer<typeof approvalAnswerSchema>;

/** How an approval ended: answered yes or no, or no answer before `expiresAt` (then denied). */
export const approvalDecisions = ['approved', 'denied', 'expired'] as const;
export type ApprovalDecision = (typeof approvalDecisions)[number];
