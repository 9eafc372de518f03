import type { Expression, Node, ObjectExpression, ObjectProperty } from '@babel/types';
import { isAgentCodeValue } from '@runtools/sdk/api';
import { type ParsedAgentFile, unwrap } from './agent-file-parse.ts';
import { workflowShapeProblem } from './agent-workflow-field.ts';

/** The fields of an agent the builder writes; every other field is shown read-only. */
export const editableAgentFields = [
  'slug',
  'name',
  'description',
  'model',
  'systemPrompt',
  'tools',
  'template',
  'maxSteps',
  'timeoutMs',
  'temperature',
  'env',
  'workflow',
] as const;

export type EditableAgentField = (typeof editableAgentFields)[number];

export function isEditableAgentField(name: string): name is EditableAgentField {
  return (editableAgentFields as readonly string[]).includes(name);
}

/** A range of an agent file: offsets in UTF-16 units, 1-based lines and columns. */
export interface SourceRange {
  start: number;
  end: number;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

/** One field of an agent's object literal, as the builder shows it. */
export interface AgentField {
  name: string;
  /** The value, when the source is a literal (absent otherwise). */
  value?: unknown;
  editable: boolean;
  /** Why the builder does not edit it: "imported from ./prompts.ts", "computed", "spread", … */
  reason?: string;
  /** The property's source text (`key: value`), as in the file. */
  source: string;
  range: SourceRange;
}

export type StaticValue = { ok: true; value: unknown } | { ok: false; reason: string };

/** How `staticValue` reads. */
export interface StaticValueOptions {
  /**
   * Read a sub-expression that is not a literal as a code marker (`{ $code: its source }`)
   * instead of failing: the workflow field, whose zod schemas and functions stay code.
   */
  code?: boolean;
}

/**
 * The value of a literal the builder can read and write: strings, numbers, booleans, `null`,
 * template literals without `${}`, and arrays and objects of those without spreads (`as const`
 * and `satisfies` are looked through). Anything else says why not, or with `code`, is read as
 * its source text in a marker.
 */
export function staticValue(
  node: Expression,
  parsed: ParsedAgentFile,
  options: StaticValueOptions = {},
): StaticValue {
  const v = literalValue(node, parsed, options);
  if (v.ok || options.code !== true) return v;
  return { ok: true, value: { $code: parsed.text.slice(node.start ?? 0, node.end ?? 0) } };
}

function literalValue(
  node: Expression,
  parsed: ParsedAgentFile,
  options: StaticValueOptions,
): StaticValue {
  const n = unwrap(node);
  switch (n.type) {
    case 'StringLiteral':
    case 'NumericLiteral':
    case 'BooleanLiteral':
      return { ok: true, value: n.value };
    case 'NullLiteral':
      return { ok: true, value: null };
    case 'TemplateLiteral': {
      const cooked = n.quasis[0]?.value.cooked;
      if (n.expressions.length > 0 || typeof cooked !== 'string')
        return { ok: false, reason: 'a template literal with substitutions' };
      return { ok: true, value: cooked };
    }
    case 'UnaryExpression':
      if ((n.operator === '-' || n.operator === '+') && n.argument.type === 'NumericLiteral') {
        return { ok: true, value: n.operator === '-' ? -n.argument.value : n.argument.value };
      }
      return { ok: false, reason: 'computed' };
    case 'ArrayExpression': {
      const out: unknown[] = [];
      for (const e of n.elements) {
        if (e === null) return { ok: false, reason: 'an array with holes' };
        if (e.type === 'SpreadElement') return { ok: false, reason: 'spread' };
        const v = staticValue(e, parsed, options);
        if (!v.ok) return v;
        out.push(v.value);
      }
      return { ok: true, value: out };
    }
    case 'ObjectExpression': {
      const out: Record<string, unknown> = {};
      for (const p of n.properties) {
        if (p.type === 'SpreadElement') return { ok: false, reason: 'spread' };
        if (p.type === 'ObjectMethod') return { ok: false, reason: 'computed' };
        const key = propertyKey(p);
        if (key === undefined) return { ok: false, reason: 'a computed key' };
        const v = staticValue(p.value as Expression, parsed, options);
        if (!v.ok) return v;
        out[key] = v.value;
      }
      return { ok: true, value: out };
    }
    case 'Identifier': {
      const from = parsed.imports.get(n.name);
      if (from !== undefined) return { ok: false, reason: `imported from ${from}` };
      if (parsed.variables.has(n.name)) return { ok: false, reason: `the variable ${n.name}` };
      return { ok: false, reason: 'computed' };
    }
    default:
      return { ok: false, reason: 'computed' };
  }
}

/** The key of a non-computed property (`slug`, `'slug'`, `1`); undefined for `[expr]`. */
export function propertyKey(p: ObjectProperty): string | undefined {
  if (p.computed) return undefined;
  if (p.key.type === 'Identifier') return p.key.name;
  if (p.key.type === 'StringLiteral') return p.key.value;
  if (p.key.type === 'NumericLiteral') return String(p.key.value);
  return undefined;
}

export function rangeOf(node: Node): SourceRange {
  const start = node.start ?? 0;
  const end = node.end ?? start;
  return {
    start,
    end,
    line: node.loc?.start.line ?? 1,
    column: (node.loc?.start.column ?? 0) + 1,
    endLine: node.loc?.end.line ?? 1,
    endColumn: (node.loc?.end.column ?? 0) + 1,
  };
}

/** The property that defines `name` (the last one, as JavaScript has it), if any. */
export function findProperty(object: ObjectExpression, name: string): ObjectProperty | undefined {
  let found: ObjectProperty | undefined;
  for (const p of object.properties) {
    if (p.type === 'ObjectProperty' && propertyKey(p) === name) found = p;
  }
  return found;
}

/**
 * Every field of the agent's object literal, in file order: its value when it is a literal,
 * whether the builder edits it and, if not, why. A spread is a field of its own (`...base`); a
 * field before a spread may be overridden by it and is read-only, as is one a later
 * duplicate overrides.
 */
export function agentFields(parsed: ParsedAgentFile): AgentField[] {
  const object = parsed.object;
  if (object === null) return [];
  const fields: AgentField[] = [];
  const props = object.properties;
  const lastSpread = props.findLastIndex((p) => p.type === 'SpreadElement');
  props.forEach((p, index) => {
    const source = parsed.text.slice(p.start ?? 0, p.end ?? 0);
    const range = rangeOf(p);
    if (p.type === 'SpreadElement') {
      const arg = parsed.text.slice(p.argument.start ?? 0, p.argument.end ?? 0);
      const v = staticValue(p.argument, parsed);
      const reason = !v.ok && v.reason.startsWith('imported') ? `spread, ${v.reason}` : 'spread';
      fields.push({ name: `...${arg}`, editable: false, reason, source, range });
      return;
    }
    const key = p.type === 'ObjectProperty' ? propertyKey(p) : undefined;
    const name =
      key ??
      (p.key.type === 'Identifier'
        ? p.key.name
        : parsed.text.slice(p.key.start ?? 0, p.key.end ?? 0));
    if (p.type === 'ObjectMethod') {
      fields.push({ name, editable: false, reason: 'a method', source, range });
      return;
    }
    if (key === undefined) {
      fields.push({ name, editable: false, reason: 'a computed key', source, range });
      return;
    }
    const v = staticValue(p.value as Expression, parsed);
    const field: AgentField = { name, editable: false, source, range };
    if (v.ok) field.value = v.value;
    // A workflow is data with code inside (zod schemas, functions): its literal parts are edited.
    const workflow = key === 'workflow' && !v.ok ? workflowValue(p.value as Expression, parsed) : v;
    if (workflow.ok) field.value = workflow.value;
    const overridden = findProperty(object, key) !== p;
    if (overridden) field.reason = `overridden by a later ${key}`;
    else if (index < lastSpread) field.reason = 'may be overridden by the spread after it';
    else if (!workflow.ok) field.reason = workflow.reason;
    else if (!isEditableAgentField(key)) field.reason = 'not edited by the builder';
    else field.editable = true;
    fields.push(field);
  });
  return fields;
}

/**
 * A workflow's value with its code parts as markers, when its graph (start, steps, each step's
 * kind and edges) is data; else why the builder cannot edit it.
 */
function workflowValue(node: Expression, parsed: ParsedAgentFile): StaticValue {
  const plain = staticValue(node, parsed);
  const v = staticValue(node, parsed, { code: true });
  if (!v.ok) return v;
  if (plain.ok) return plain;
  if (isAgentCodeValue(v.value)) return plain;
  const problem = workflowShapeProblem(v.value);
  return problem === undefined ? v : { ok: false, reason: problem };
}
