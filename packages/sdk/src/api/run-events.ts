import { z } from 'zod';
import { timestampSchema } from './common.ts';
import { approvalDecisions } from './run-approvals.ts';
import { runStatuses } from './run-status.ts';

/** Token counts of a model call or a whole run. */
export const usageSchema = z
  .object({ inputTokens: z.number(), outputTokens: z.number(), totalTokens: z.number() })
  .meta({ id: 'Usage' });

export type Usage = z.infer<typeof usageSchema>;

/** Set on the events of a workflow's step: the step (its id) they belong to. */
const inWorkflowStepRef = { workflowStep: z.string().optional() };

/** What every event carries besides its own fields: its place in the run's log. */
const logPosition = {
  /** Position in the run's event log, from 1, without gaps: a reconnecting client sends the last one it saw. */
  seq: z.number().int().min(1),
  /** When the event happened. */
  ts: timestampSchema,
};

const thinkingEvent = z
  .object({
    ...inWorkflowStepRef,
    type: z.literal('thinking'),
    step: z.number().int(),
    delta: z.string(),
  })
  .meta({ description: "A piece of the model's reasoning." });

const textEvent = z
  .object({
    ...inWorkflowStepRef,
    type: z.literal('text'),
    step: z.number().int(),
    delta: z.string(),
  })
  .meta({ description: "A piece of the model's answer." });

const toolCallEvent = z
  .object({
    ...inWorkflowStepRef,
    type: z.literal('tool_call'),
    step: z.number().int(),
    /** Pairs the call with its `tool_result`. */
    id: z.string(),
    name: z.string(),
    input: z.unknown(),
  })
  .meta({ description: 'The model called a tool.' });

const toolResultEvent = z
  .object({
    ...inWorkflowStepRef,
    type: z.literal('tool_result'),
    step: z.number().int(),
    id: z.string(),
    name: z.string(),
    output: z.string(),
    isError: z.boolean(),
    durationMs: z.number(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ description: 'What a tool call returned (or the error it ended with).' });

const toolLogEvent = z
  .object({
    ...inWorkflowStepRef,
    type: z.literal('tool_log'),
    step: z.number().int(),
    /** The call it belongs to: its `tool_call`'s id. */
    id: z.string(),
    name: z.string(),
    /** One line of the tool's `ctx.log` (secrets masked). */
    message: z.string(),
  })
  .meta({ description: 'A line a custom tool logged while it ran (`ctx.log`).' });

const approvalRequestedEvent = z
  .object({
    ...inWorkflowStepRef,
    type: z.literal('approval_requested'),
    step: z.number().int(),
    /** The call's id: its `tool_call` event's `id`. */
    callId: z.string(),
    tool: z.string(),
    input: z.unknown(),
    /** When the call is denied unanswered. */
    expiresAt: timestampSchema,
  })
  .meta({
    description:
      "A tool call needs a person's approval: the run is `waiting` (its sandbox paused) until `POST /v1/runs/{id}/approvals/{callId}`.",
  });

const approvalResolvedEvent = z
  .object({
    ...inWorkflowStepRef,
    type: z.literal('approval_resolved'),
    step: z.number().int(),
    callId: z.string(),
    tool: z.string(),
    decision: z.enum(approvalDecisions),
    /** The answer's reason, if it gave one. */
    reason: z.string().optional(),
  })
  .meta({
    description:
      'An approval was answered (or expired, then denied): the run continues with the call run or denied.',
  });

const workflowStepStartedEvent = z
  .object({
    type: z.literal('workflow_step_started'),
    stepId: z.string(),
    kind: z.enum(['agent', 'tool', 'branch', 'parallel', 'approval', 'code']),
    /** 1 the first time; more when a loop comes back to it or it runs again after a crash. */
    attempt: z.number().int(),
  })
  .meta({ description: 'A workflow step started; the events until it ends are its own.' });

const workflowStepCompletedEvent = z
  .object({
    type: z.literal('workflow_step_completed'),
    stepId: z.string(),
    /** What later steps read as `steps.ID.output`. */
    output: z.unknown(),
    /** The step that comes next (none: the workflow ends, or a parallel's join). */
    next: z.string().optional(),
  })
  .meta({ description: 'A workflow step finished with its output.' });

const workflowStepFailedEvent = z
  .object({
    type: z.literal('workflow_step_failed'),
    stepId: z.string(),
    code: z.string(),
    message: z.string(),
    /** The step runs again (it was interrupted by a server that stopped mid-step). */
    retrying: z.boolean().optional(),
  })
  .meta({
    description:
      'A workflow step failed (the run fails after it), or was interrupted and runs again (`retrying`).',
  });

const stepEvent = z
  .object({
    ...inWorkflowStepRef,
    type: z.literal('step'),
    step: z.number().int(),
    usage: usageSchema,
    finishReason: z.string(),
  })
  .meta({ description: 'A model call ended: its token usage and why it stopped.' });

const completeEvent = z
  .object({
    type: z.literal('complete'),
    text: z.string(),
    usage: usageSchema,
    steps: z.number().int(),
    /** `max_steps` when the run stopped at the agent's step limit rather than a final answer. */
    stopReason: z.literal('max_steps').optional(),
  })
  .meta({ description: "The agent's final answer, with the run's total usage." });

const errorEvent = z
  .object({ type: z.literal('error'), code: z.string(), message: z.string() })
  .meta({ description: 'The run failed: a stable code and what to do.' });

const statusEvent = z
  .object({
    type: z.literal('status'),
    status: z.enum(runStatuses),
    /** Why, where it is not obvious: `resumed`, `server_shutdown`, an error code. */
    reason: z.string().optional(),
  })
  .meta({ description: 'The run changed status; the terminal ones end the log.' });

/** An event as the agent loop emits it, before the log assigns its `seq` and `ts`. */
export const runEventInputSchema = z.discriminatedUnion('type', [
  thinkingEvent,
  textEvent,
  toolCallEvent,
  toolResultEvent,
  toolLogEvent,
  approvalRequestedEvent,
  approvalResolvedEvent,
  workflowStepStartedEvent,
  workflowStepCompletedEvent,
  workflowStepFailedEvent,
  stepEvent,
  completeEvent,
  errorEvent,
  statusEvent,
]);

/**
 * Everything a run emits, in order (`GET /v1/runs/{id}/events`, `WS /v1/run/{slug}/stream`). One
 * union shared by the agent loop, the server, the SDK client, the CLI and the dashboard.
 */
export const runEventSchema = z
  .discriminatedUnion('type', [
    thinkingEvent
      .extend(logPosition)
      .meta({ id: 'ThinkingEvent', description: thinkingEvent.description }),
    textEvent.extend(logPosition).meta({ id: 'TextEvent', description: textEvent.description }),
    toolCallEvent
      .extend(logPosition)
      .meta({ id: 'ToolCallEvent', description: toolCallEvent.description }),
    toolResultEvent
      .extend(logPosition)
      .meta({ id: 'ToolResultEvent', description: toolResultEvent.description }),
    toolLogEvent
      .extend(logPosition)
      .meta({ id: 'ToolLogEvent', description: toolLogEvent.description }),
    approvalRequestedEvent
      .extend(logPosition)
      .meta({ id: 'ApprovalRequestedEvent', description: approvalRequestedEvent.description }),
    approvalResolvedEvent
      .extend(logPosition)
      .meta({ id: 'ApprovalResolvedEvent', description: approvalResolvedEvent.description }),
    workflowStepStartedEvent
      .extend(logPosition)
      .meta({ id: 'WorkflowStepStartedEvent', description: workflowStepStartedEvent.description }),
    workflowStepCompletedEvent.extend(logPosition).meta({
      id: 'WorkflowStepCompletedEvent',
      description: workflowStepCompletedEvent.description,
    }),
    workflowStepFailedEvent
      .extend(logPosition)
      .meta({ id: 'WorkflowStepFailedEvent', description: workflowStepFailedEvent.description }),
    stepEvent.extend(logPosition).meta({ id: 'StepEvent', description: stepEvent.description }),
    completeEvent
      .extend(logPosition)
      .meta({ id: 'CompleteEvent', description: completeEvent.description }),
    errorEvent.extend(logPosition).meta({ id: 'ErrorEvent', description: errorEvent.description }),
    statusEvent
      .extend(logPosition)
      .meta({ id: 'StatusEvent', description: statusEvent.description }),
  ])
  .meta({ id: 'RunEvent' });

export type RunEvent = z.infer<typeof runEventSchema>;
export type RunEventType = RunEvent['type'];
/** An event before the log assigns its `seq` and `ts`. */
export type RunEventInput = z.infer<typeof runEventInputSchema>;
