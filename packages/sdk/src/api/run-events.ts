import { z } from 'zod';
import { timestampSchema } from './common.ts';
import { approvalDecisions } from './run-approvals.ts';
import { runStatuses } from './run-status.ts';

/** Token counts of a model call or a whole run. */
export const usageSchema = z
  .object({ inputTokens: z.number(), outputTokens: z.number(), totalTokens: z.number() })
  .meta({ id: 'Usage' });

export type Usage = z.infer<typeof usageSchema>;

/** What every event carries besides its own fields: its place in the run's log. */
const logPosition = {
  /** Position in the run's event log, from 1, without gaps: a reconnecting client sends the last one it saw. */
  seq: z.number().int().min(1),
  /** When the event happened. */
  ts: timestampSchema,
};

const thinkingEvent = z
  .object({ type: z.literal('thinking'), step: z.number().int(), delta: z.string() })
  .meta({ description: "A piece of the model's reasoning." });

const textEvent = z
  .object({ type: z.literal('text'), step: z.number().int(), delta: z.string() })
  .meta({ description: "A piece of the model's answer." });

const toolCallEvent = z
  .object({
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

const stepEvent = z
  .object({
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
