import { type AgentCodeValue, isAgentCodeValue } from '@runtools/sdk/api';

/**
 * The workflow field in the builder. A workflow is data (`{ start, steps }`), but an agent file
 * may hold code inside it: a zod schema as a step's `output`, a function as a code step's `run`,
 * an imported prompt. The builder reads those parts as code markers (`{ $code: source }`) and
 * edits the rest; an edit that sends a marker back keeps that source text as it is. The graph
 * itself (start, the steps, each step's kind and the steps it names) must be data: a workflow
 * whose steps are computed is read-only.
 */

/** Why the builder cannot edit a workflow read with code markers; undefined when it can. */
export function workflowShapeProblem(value: unknown): string | undefined {
  const code = (path: string) =>
    `the workflow's ${path} is code; the builder edits a workflow whose steps are written as data`;
  if (!isRecord(value)) return code('value');
  if (isAgentCodeValue(value.start)) return code('start');
  if (isAgentCodeValue(value.steps) || !isRecord(value.steps)) return code('steps');
  for (const [id, step] of Object.entries(value.steps)) {
    if (isAgentCodeValue(step) || !isRecord(step)) return code(`step "${id}"`);
    for (const key of ['kind', 'next', 'default', 'denied', 'cases', 'steps']) {
      const v = step[key];
      if (isAgentCodeValue(v)) return code(`step "${id}"'s ${key}`);
      if (isRecord(v) && Object.values(v).some(isAgentCodeValue))
        return code(`step "${id}"'s ${key}`);
      if (Array.isArray(v) && v.some(isAgentCodeValue)) return code(`step "${id}"'s ${key}`);
    }
  }
  return undefined;
}

/** Every code marker in `value`, with its path (`steps.tag.run`). */
export function codeParts(
  value: unknown,
  path: string[] = [],
): Array<AgentCodeValue & { path: string[] }> {
  if (isAgentCodeValue(value)) return [{ ...value, path }];
  if (Array.isArray(value)) return value.flatMap((v, i) => codeParts(v, [...path, String(i)]));
  if (isRecord(value)) return Object.entries(value).flatMap(([k, v]) => codeParts(v, [...path, k]));
  return [];
}

/**
 * The code markers of `next` that are not code of `current` (the field as the file has it):
 * an edit may keep, move or drop the file's code, never bring its own.
 */
export function foreignCode(current: unknown, next: unknown): string[] {
  const known = new Set(codeParts(current).map((c) => c.$code));
  return codeParts(next)
    .filter((c) => !known.has(c.$code))
    .map((c) => c.path.join('.'));
}

/**
 * `value` with each code marker replaced by what the schema accepts in its place, so that an
 * edit's data is checked as `defineAgent` would check it (the code itself is checked when the
 * agent loads): an `output` by an object schema, a `run` by its stored form, anything else by a
 * string.
 */
export function workflowForCheck(value: unknown, key?: string): unknown {
  if (isAgentCodeValue(value)) {
    if (key === 'output') return { type: 'object' };
    if (key === 'run') return () => undefined;
    return 'code';
  }
  if (Array.isArray(value)) return value.map((v) => workflowForCheck(v));
  if (isRecord(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, workflowForCheck(v, k)]));
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
