/**
 * A part of an agent file's field that is code, not data: a zod `output` schema or a function
 * `run` inside a workflow written as data. The builder reads the field's literal parts as JSON
 * and such a part as `{ $code: '<its source text>' }`; an edit that sends the marker back keeps
 * that source untouched (only code already in that field of the file may be sent back). In a
 * module of its own, without schemas, so that the dashboard's bundle does not carry zod.
 */
export interface AgentCodeValue {
  /** The sub-expression's source text, as in the file. */
  $code: string;
}

/** True when `value` is a code marker (`{ $code: string }`, nothing else). */
export function isAgentCodeValue(value: unknown): value is AgentCodeValue {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return (
    keys.length === 1 && keys[0] === '$code' && typeof (value as AgentCodeValue).$code === 'string'
  );
}
