import { z } from 'zod';

/**
 * A workflow: an agent's optional step graph, declared as data in its definition
 * (`workflow: { start, steps }`). Each step has an id (its key) and a kind:
 * - `agent`: a prompt run through the agent's loop (its model and tools, or `tools` of them),
 *   optionally with a structured `output` (a JSON schema, or a zod schema in an agent file): the
 *   model's answer must be JSON that matches it;
 * - `tool`: one call of a tool with `input` (strings may name earlier outputs, see below);
 * - `branch`: the next step chosen by the value at `on` (`cases`: value → step, else `default`);
 * - `parallel`: its `steps` run at once (each in the shared sandbox, or its own with
 *   `sandbox: 'own'`), then the workflow goes on to `next`;
 * - `approval`: waits for a person (the run is `waiting`, its sandbox paused); approved goes to
 *   `next`, denied to `denied` (without one, a denial fails the run);
 * - `code`: a function of the agent's folder (`run`), run where custom tools run.
 * A step without `next` ends the workflow. Prompts, tool inputs and `on` name values with paths:
 * `{{input}}` (the run's input), `{{steps.triage.output}}`, `{{steps.triage.output.category}}`.
 */
export const workflowStepIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'a step id: lowercase letters, digits, "_" and "-"');

const next = workflowStepIdSchema.optional();
const sandbox = z.enum(['shared', 'own']).optional();

/** A JSON schema (an object) as stored: what a structured output must match. */
const jsonSchemaObject = z
  .record(z.string(), z.unknown())
  .refine((schema) => typeof schema.type === 'string' || Array.isArray(schema.anyOf), {
    message: 'a JSON schema with a type',
  });

/**
 * The steps' schemas. `stored` is the API's form (JSON only); otherwise an agent file's, where a
 * structured output may be a zod schema and a code step's `run` a function.
 */
function stepSchemas(stored: boolean) {
  const output = stored
    ? jsonSchemaObject
    : z.union([jsonSchemaObject, z.custom<z.ZodType>(isZodSchema, 'a zod schema')]);
  const run = stored
    ? z.literal('bundle')
    : z.union([
        z.literal('bundle'),
        z.custom<(context: WorkflowCodeContext) => unknown>(
          (v) => typeof v === 'function',
          'a function ({ input, steps }) => output',
        ),
      ]);
  return [
    z
      .object({
        kind: z.literal('agent'),
        prompt: z.string().min(1),
        /** Only these of the agent's tools (default: all of them). */
        tools: z.array(z.string().min(1)).max(200).optional(),
        output: output.optional(),
        next,
        sandbox,
      })
      .strict(),
    z
      .object({
        kind: z.literal('tool'),
        tool: z.string().min(1),
        input: z.record(z.string(), z.unknown()).default({}),
        next,
        sandbox,
      })
      .strict(),
    z
      .object({
        kind: z.literal('branch'),
        /** A path, e.g. `steps.triage.output.category`. */
        on: z.string().min(1),
        cases: z.record(z.string(), workflowStepIdSchema),
        default: workflowStepIdSchema.optional(),
      })
      .strict(),
    z
      .object({
        kind: z.literal('parallel'),
        steps: z.array(workflowStepIdSchema).min(2).max(20),
        next,
      })
      .strict(),
    z
      .object({
        kind: z.literal('approval'),
        message: z.string().min(1),
        next,
        /** Where a denial goes; without it, a denial fails the run. */
        denied: workflowStepIdSchema.optional(),
      })
      .strict(),
    z
      .object({
        kind: z.literal('code'),
        /** A function of the agent file (stored as `bundle`: it runs in the bundle's tool runner). */
        run,
        next,
      })
      .strict(),
  ] as const;
}

/** What a code step's function gets: the run's input and every completed step's output. */
export interface WorkflowCodeContext {
  input: string;
  steps: Record<string, { output: unknown }>;
}

/** The workflow of a stored definition (the API's form: JSON only). */
export const workflowSchema = workflowDefinitionSchema(true).meta({
  id: 'Workflow',
  description:
    "An agent's step graph: `start` and the `steps` by id (agent, tool, branch, parallel, approval, code).",
});

/** A workflow, in the stored form or (`stored: false`) an agent file's. */
export function workflowDefinitionSchema(stored: boolean) {
  // The graph checks read only the steps' kinds and the ids they name.
  return z
    .object({
      start: workflowStepIdSchema,
      steps: z.record(workflowStepIdSchema, z.discriminatedUnion('kind', stepSchemas(stored))),
      /** How many steps a run may take in all (loops included) before it fails. Default 100. */
      maxTransitions: z.number().int().min(1).max(10_000).default(100),
    })
    .strict()
    .superRefine(checkWorkflowGraph);
}

export type WorkflowDefinition = z.output<ReturnType<typeof workflowDefinitionSchema>>;
export type WorkflowStep = WorkflowDefinition['steps'][string];
export type WorkflowStepKind = WorkflowStep['kind'];

/** What the graph checks read of a step: its kind and the steps it names. */
interface GraphStep {
  kind: string;
  next?: string | undefined;
  cases?: Record<string, string>;
  default?: string | undefined;
  steps?: string[];
  denied?: string | undefined;
}

/** The steps a step leads to: its edges in the graph. */
export function workflowEdges(step: GraphStep): string[] {
  switch (step.kind) {
    case 'branch':
      return [...Object.values(step.cases ?? {}), ...(step.default ? [step.default] : [])];
    case 'parallel':
      return [...(step.steps ?? []), ...(step.next ? [step.next] : [])];
    case 'approval':
      return [...(step.next ? [step.next] : []), ...(step.denied ? [step.denied] : [])];
    default:
      return step.next ? [step.next] : [];
  }
}

/**
 * The checks of a workflow that span steps: every step named exists, every step is reachable
 * from `start`, the steps of a `parallel` are agent, tool or code steps that end there (no
 * `next`: the parallel's `next` follows them all), and a cycle has a way out. Each problem names
 * the step.
 */
export function checkWorkflowGraph(
  workflow: { start: string; steps: Record<string, GraphStep> },
  ctx: z.RefinementCtx,
): void {
  const { steps } = workflow;
  const issue = (path: Array<string | number>, message: string) =>
    ctx.addIssue({ code: 'custom', path, message });
  if (!Object.hasOwn(steps, workflow.start)) {
    issue(['start'], `names the step "${workflow.start}", which is not in steps`);
    return;
  }
  let broken = false;
  const parallelChildren = new Set<string>();
  for (const [id, step] of Object.entries(steps)) {
    for (const target of workflowEdges(step)) {
      if (!Object.hasOwn(steps, target)) {
        issue(['steps', id], `step "${id}" leads to "${target}", which is not a step`);
        broken = true;
      }
    }
    if (step.kind === 'parallel') {
      for (const child of step.steps ?? []) {
        const c = steps[child];
        if (c === undefined) continue;
        parallelChildren.add(child);
        if (c.kind !== 'agent' && c.kind !== 'tool' && c.kind !== 'code') {
          issue(
            ['steps', child],
            `step "${child}" runs in parallel step "${id}": it must be an agent, tool or code step`,
          );
        } else if (c.next !== undefined) {
          issue(
            ['steps', child],
            `step "${child}" runs in parallel step "${id}", which goes on when all its steps are done: it has no next of its own`,
          );
        }
      }
    }
  }
  if (broken) return;
  // Reachable from start.
  const seen = new Set<string>([workflow.start]);
  const queue = [workflow.start];
  for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
    for (const target of workflowEdges(steps[id] as GraphStep)) {
      if (!seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  for (const id of Object.keys(steps)) {
    if (!seen.has(id)) issue(['steps', id], `step "${id}" is unreachable from "${workflow.start}"`);
  }
  // A cycle (a strongly connected set of steps) needs a step that leads out of it, or ends.
  for (const component of stronglyConnected(steps)) {
    const members = new Set(component);
    const first = component[0] as string;
    const cyclic = component.length > 1 || workflowEdges(steps[first] as GraphStep).includes(first);
    if (!cyclic) continue;
    const exits = component.some((id) => {
      const step = steps[id] as GraphStep;
      const edges = workflowEdges(step).filter(
        (t) => !parallelChildren.has(t) || step.kind !== 'parallel',
      );
      const ends = step.kind !== 'branch' && step.next === undefined;
      return ends || edges.some((t) => !members.has(t));
    });
    if (!exits) {
      issue(
        ['steps', first],
        `steps ${component.map((s) => `"${s}"`).join(' → ')} form a cycle with no way out`,
      );
    }
  }
}

/** Tarjan's strongly connected components of the step graph. */
function stronglyConnected(steps: Record<string, GraphStep>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  const visit = (id: string) => {
    index.set(id, counter);
    low.set(id, counter);
    counter++;
    stack.push(id);
    onStack.add(id);
    for (const target of workflowEdges(steps[id] as GraphStep)) {
      if (!index.has(target)) {
        visit(target);
        low.set(id, Math.min(low.get(id) as number, low.get(target) as number));
      } else if (onStack.has(target)) {
        low.set(id, Math.min(low.get(id) as number, index.get(target) as number));
      }
    }
    if (low.get(id) === index.get(id)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        component.push(member);
      } while (member !== id);
      components.push(component.reverse());
    }
  };
  for (const id of Object.keys(steps)) if (!index.has(id)) visit(id);
  return components;
}

/** Duck-typed, so a schema of the project's own copy of zod 4 is accepted too. */
function isZodSchema(value: unknown): value is z.ZodType {
  const zod = (value as { _zod?: { def?: unknown } } | null)?._zod;
  return typeof (value as { safeParse?: unknown } | null)?.safeParse === 'function' && !!zod?.def;
}

/**
 * A workflow as the API stores it: a zod output schema becomes its JSON schema (what the model
 * is shown and the answer is checked against) and a code step's function `bundle` (it runs in
 * the tool runner of the agent's bundle).
 */
export function storedWorkflow(workflow: WorkflowDefinition): WorkflowDefinition {
  const steps = Object.fromEntries(
    Object.entries(workflow.steps).map(([id, step]) => {
      if (step.kind === 'agent' && step.output !== undefined && isZodSchema(step.output)) {
        const { $schema: _, ...json } = z.toJSONSchema(step.output) as Record<string, unknown>;
        return [id, { ...step, output: json }];
      }
      if (step.kind === 'code' && typeof step.run === 'function') {
        return [id, { ...step, run: 'bundle' as const }];
      }
      return [id, step];
    }),
  );
  return { ...workflow, steps };
}

/** True when a workflow has code steps written as functions: the agent file must be bundled. */
export function workflowHasCode(workflow: WorkflowDefinition | undefined): boolean {
  return Object.values(workflow?.steps ?? {}).some(
    (step) => step.kind === 'code' && typeof step.run === 'function',
  );
}
