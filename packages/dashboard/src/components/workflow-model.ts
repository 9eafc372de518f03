import { isAgentCodeValue } from '@runtools/sdk/api';

/**
 * A workflow as the dashboard holds it: the agent file's `workflow` field as the builder reads
 * it (code parts as `{ $code }` markers), or a runtime's stored workflow. Its edges, a short
 * summary of each step, and the graph's edits as pure functions: each returns a new workflow
 * that differs only where the edit is, so the builder's save changes only those parts of the
 * file. Without schemas: the dashboard's bundle does not carry zod.
 */
export type StepKind = 'agent' | 'tool' | 'branch' | 'parallel' | 'approval' | 'code';

export type WorkflowStepValue = { kind: StepKind } & Record<string, unknown>;

export interface WorkflowValue {
  start: string;
  steps: Record<string, WorkflowStepValue>;
  [key: string]: unknown;
}

/** What an edge is in the step that owns it. */
export type EdgeRole =
  | { kind: 'next' }
  | { kind: 'case'; value: string }
  | { kind: 'default' }
  | { kind: 'denied' }
  | { kind: 'child'; index: number };

export interface WorkflowEdge {
  id: string;
  source: string;
  target: string;
  role: EdgeRole;
  /** What the graph writes on it: the case value, `default`, `denied`, `parallel`. */
  label: string;
}

export const stepKinds: readonly StepKind[] = [
  'agent',
  'tool',
  'branch',
  'parallel',
  'approval',
  'code',
];

/** The kinds a step added in the graph may have (a code step's function is written in code). */
export const addableKinds: readonly StepKind[] = [
  'agent',
  'tool',
  'branch',
  'parallel',
  'approval',
];

export const stepIdPattern = /^[a-z][a-z0-9_-]{0,63}$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `value` as a workflow, when it has the shape of one. */
export function asWorkflow(value: unknown): WorkflowValue | null {
  if (!isRecord(value) || typeof value.start !== 'string' || !isRecord(value.steps)) return null;
  for (const step of Object.values(value.steps)) {
    if (!isRecord(step) || typeof step.kind !== 'string') return null;
  }
  return value as WorkflowValue;
}

export function isCode(v: unknown): boolean {
  return isAgentCodeValue(v);
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** The source handle of an edge role on its step's node. */
export function roleHandle(role: EdgeRole): string {
  switch (role.kind) {
    case 'case':
      return `case:${role.value}`;
    case 'child':
      return `child:${role.index}`;
    default:
      return role.kind;
  }
}

export function handleRole(handle: string | null | undefined): EdgeRole {
  if (!handle || handle === 'next') return { kind: 'next' };
  if (handle === 'default' || handle === 'denied') return { kind: handle };
  if (handle.startsWith('case:')) return { kind: 'case', value: handle.slice(5) };
  if (handle.startsWith('child:')) return { kind: 'child', index: Number(handle.slice(6)) };
  return { kind: 'next' };
}

/** The roles a step's outgoing edges can take (its node's source handles), in order. */
export function stepRoles(step: WorkflowStepValue): EdgeRole[] {
  switch (step.kind) {
    case 'branch':
      return [
        ...Object.keys(isRecord(step.cases) ? step.cases : {}).map(
          (value): EdgeRole => ({ kind: 'case', value }),
        ),
        { kind: 'default' },
      ];
    case 'parallel':
      return [
        ...(Array.isArray(step.steps) ? step.steps : []).map(
          (_, index): EdgeRole => ({ kind: 'child', index }),
        ),
        { kind: 'next' },
      ];
    case 'approval':
      return [{ kind: 'next' }, { kind: 'denied' }];
    default:
      return [{ kind: 'next' }];
  }
}

/** Where an edge role of a step leads now, if anywhere. */
export function roleTarget(step: WorkflowStepValue, role: EdgeRole): string | undefined {
  switch (role.kind) {
    case 'case':
      return isRecord(step.cases) ? str(step.cases[role.value]) : undefined;
    case 'child':
      return Array.isArray(step.steps) ? str(step.steps[role.index]) : undefined;
    default:
      return str(step[role.kind]);
  }
}

export function roleLabel(role: EdgeRole): string {
  switch (role.kind) {
    case 'case':
      return role.value;
    case 'child':
      return 'parallel';
    case 'next':
      return '';
    default:
      return role.kind;
  }
}

/** Every edge of the graph: next, each case, default, denied and each parallel child. */
export function workflowGraphEdges(workflow: WorkflowValue): WorkflowEdge[] {
  const edges: WorkflowEdge[] = [];
  for (const [id, step] of Object.entries(workflow.steps)) {
    for (const role of stepRoles(step)) {
      const target = roleTarget(step, role);
      if (target === undefined) continue;
      edges.push({
        id: `${id}:${roleHandle(role)}`,
        source: id,
        target,
        role,
        label: roleLabel(role),
      });
    }
  }
  return edges;
}

function clip(s: string, n = 48): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

/** A step in a few words: its prompt, tool, the value it branches on, its message… */
export function stepSummary(step: WorkflowStepValue): string {
  switch (step.kind) {
    case 'agent':
      return isCode(step.prompt) ? 'prompt in code' : clip(str(step.prompt) ?? '');
    case 'tool':
      return `calls ${str(step.tool) ?? '?'}`;
    case 'branch':
      return `on ${str(step.on) ?? '?'}`;
    case 'parallel':
      return `runs ${(Array.isArray(step.steps) ? step.steps : []).join(', ')} at once`;
    case 'approval':
      return clip(str(step.message) ?? '');
    case 'code':
      return isCode(step.run) ? `runs ${clip((step.run as { $code: string }).$code, 32)}` : 'code';
    default:
      return '';
  }
}

function withStep(w: WorkflowValue, id: string, step: WorkflowStepValue): WorkflowValue {
  return { ...w, steps: { ...w.steps, [id]: step } };
}

/** The step `id` with `key` set to `value` (`undefined` removes it). */
export function setStepField(
  w: WorkflowValue,
  id: string,
  key: string,
  value: unknown,
): WorkflowValue {
  const step = w.steps[id];
  if (step === undefined) return w;
  const next: WorkflowStepValue = { ...step };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return withStep(w, id, next);
}

/** Connects (or reconnects) the edge `role` of step `source` to `target`; undefined removes it. */
export function setEdge(
  w: WorkflowValue,
  source: string,
  role: EdgeRole,
  target: string | undefined,
): WorkflowValue {
  const step = w.steps[source];
  if (step === undefined) return w;
  switch (role.kind) {
    case 'case': {
      const cases = { ...(isRecord(step.cases) ? step.cases : {}) };
      if (target === undefined) delete cases[role.value];
      else cases[role.value] = target;
      return setStepField(w, source, 'cases', cases);
    }
    case 'child': {
      const children = [...(Array.isArray(step.steps) ? step.steps : [])];
      if (target === undefined) children.splice(role.index, 1);
      else if (role.index >= children.length) children.push(target);
      else children[role.index] = target;
      return setStepField(w, source, 'steps', children);
    }
    default:
      return setStepField(w, source, role.kind, target);
  }
}

/** Renames a branch's case value, keeping where it leads and the cases' order. */
export function renameCase(w: WorkflowValue, id: string, from: string, to: string): WorkflowValue {
  const step = w.steps[id];
  if (step === undefined || !isRecord(step.cases) || from === to) return w;
  const cases = Object.fromEntries(
    Object.entries(step.cases).map(([k, v]) => [k === from ? to : k, v]),
  );
  return setStepField(w, id, 'cases', cases);
}

/** A new step's fields: what its kind needs, to be filled in. */
export function newStep(kind: StepKind, w: WorkflowValue): WorkflowStepValue {
  switch (kind) {
    case 'agent':
      return { kind, prompt: 'Describe what this step does.' };
    case 'tool':
      return { kind, tool: 'bash', input: { command: 'echo done' } };
    case 'branch':
      return { kind, on: `steps.${w.start}.output`, cases: {} };
    case 'parallel':
      return { kind, steps: [] };
    case 'approval':
      return { kind, message: 'Continue?' };
    case 'code':
      return { kind };
  }
}

/**
 * Adds step `id` of `kind`; with `after`, it comes after that step: `after`'s next leads to it
 * and it goes on to where `after` went (a branch's new step takes its default).
 */
export function addStep(
  w: WorkflowValue,
  id: string,
  kind: StepKind,
  after?: string,
): WorkflowValue {
  const step = newStep(kind, w);
  const previous = after === undefined ? undefined : w.steps[after];
  if (previous === undefined || after === undefined) return withStep(w, id, step);
  const role: EdgeRole = previous.kind === 'branch' ? { kind: 'default' } : { kind: 'next' };
  const was = roleTarget(previous, role);
  if (was !== undefined) {
    if (kind === 'branch') step.default = was;
    else step.next = was;
  }
  return setEdge(withStep(w, id, step), after, role, id);
}

/**
 * Removes step `id` and every edge to it (a next, a case, a default, a denied, a parallel
 * child). The start moves to the removed step's next when it was the start.
 */
export function removeStep(w: WorkflowValue, id: string): WorkflowValue {
  const removed = w.steps[id];
  if (removed === undefined) return w;
  const { [id]: _, ...rest } = w.steps;
  let out: WorkflowValue = { ...w, steps: rest };
  for (const edge of workflowGraphEdges(out)) {
    if (edge.target !== id || edge.role.kind === 'child') continue;
    out = setEdge(out, edge.source, edge.role, undefined);
  }
  for (const [sid, step] of Object.entries(out.steps)) {
    if (step.kind === 'parallel' && Array.isArray(step.steps) && step.steps.includes(id)) {
      out = setStepField(
        out,
        sid,
        'steps',
        step.steps.filter((s) => s !== id),
      );
    }
  }
  if (out.start === id) {
    const next = str(removed.next) ?? Object.keys(out.steps)[0];
    if (next !== undefined) out = { ...out, start: next };
  }
  return out;
}
