import { RunToolsError } from '@runtools/sdk/errors';
import type { WorkflowState } from '../loop/loop-state.ts';

/**
 * The value a path names in a workflow: `input` (the run's input) or
 * `steps.ID.output[.key…]` (a completed step's output, or a field of it). A path that names
 * nothing is a `workflow_path_unknown` error naming it.
 */
export function workflowValue(state: WorkflowState, path: string): unknown {
  const parts = path.trim().split('.');
  if (parts.length === 1 && parts[0] === 'input') return state.input;
  const [root, id, output, ...keys] = parts;
  if (root !== 'steps' || id === undefined || output !== 'output') {
    throw unknownPath(path, 'a path is `input` or `steps.ID.output…`');
  }
  if (!Object.hasOwn(state.outputs, id)) {
    throw unknownPath(path, `step "${id}" has no output (it has not completed)`);
  }
  let value: unknown = state.outputs[id];
  for (const key of keys) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) {
      throw unknownPath(path, `the output has no "${key}"`);
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

const placeholder = /\{\{\s*([^{}]+?)\s*\}\}/g;

/** `text` with each `{{path}}` replaced by the value it names (objects as JSON). */
export function renderText(state: WorkflowState, text: string): string {
  return text.replace(placeholder, (_, path: string) => asText(workflowValue(state, path)));
}

/**
 * A tool step's input with its placeholders filled in: a string that is one placeholder only
 * becomes the value itself (a number stays a number), any other string is rendered as text, and
 * objects and arrays are filled in throughout.
 */
export function renderValue(state: WorkflowState, value: unknown): unknown {
  if (typeof value === 'string') {
    const whole = /^\{\{\s*([^{}]+?)\s*\}\}$/.exec(value);
    return whole ? workflowValue(state, whole[1] as string) : renderText(state, value);
  }
  if (Array.isArray(value)) return value.map((v) => renderValue(state, v));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderValue(state, v)]));
  }
  return value;
}

/** A value as a branch's case key or in a prompt: strings as they are, others as JSON. */
export function asText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');
}

function unknownPath(path: string, why: string): RunToolsError {
  return new RunToolsError('workflow_path_unknown', `{{${path.trim()}}} names nothing: ${why}.`, {
    details: { path },
  });
}
