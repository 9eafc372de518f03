import type { Expression } from '@babel/types';
import {
  AgentDefinitionError,
  agentDefinitionSchema,
  defineAgent,
  RunToolsError,
} from '@runtools/sdk';
import { agentFields, isEditableAgentField, staticValue } from './agent-fields.ts';
import type { AgentFieldChanges } from './agent-file-edit.ts';
import type { ParsedAgentFile } from './agent-file-parse.ts';
import { foreignCode, workflowForCheck } from './agent-workflow-field.ts';

/**
 * Refuses a change the builder may not make: a field it does not edit, one whose source is not
 * a literal (imported, computed, spread), or a file without an agent object
 * (`agent_field_read_only`, naming the field and why).
 */
export function checkEditable(parsed: ParsedAgentFile, changes: AgentFieldChanges): void {
  if (parsed.object === null) {
    throw new RunToolsError(
      'agent_file_read_only',
      `The builder cannot edit this file: ${parsed.notFound}.`,
    );
  }
  const fields = agentFields(parsed);
  const spread = fields.some((f) => f.name.startsWith('...'));
  for (const name of Object.keys(changes)) {
    if (!isEditableAgentField(name)) {
      throw readOnly(name, 'the builder does not edit this field; edit the file');
    }
    const field = fields.findLast((f) => f.name === name);
    if (field !== undefined && !field.editable) throw readOnly(name, field.reason ?? 'computed');
    if (field === undefined && spread && changes[name] === null) {
      throw readOnly(name, 'it may come from a spread; edit the file');
    }
    if (name === 'workflow') {
      const foreign = foreignCode(field?.value, changes[name]);
      if (foreign.length > 0) {
        throw readOnly(
          `workflow.${foreign[0]}`,
          'code the file does not have there; the builder keeps the code of a workflow as it is and writes only data',
        );
      }
    }
  }
}

function readOnly(field: string, reason: string): RunToolsError {
  return new RunToolsError('agent_field_read_only', `"${field}" is read-only here: ${reason}.`, {
    details: { field, reason },
  });
}

/**
 * Checks the edited file as `defineAgent` would: each changed field against its schema (`null`,
 * a removal, as absent), and, when every field of the object is a literal, the whole agent.
 * Throws `AgentDefinitionError` (`invalid_agent`) with each field's message.
 */
export function checkDefinition(edited: ParsedAgentFile, changes: AgentFieldChanges): void {
  const issues: Array<{ field: string; message: string }> = [];
  const shape = agentDefinitionSchema.shape as Record<
    string,
    {
      safeParse(v: unknown): {
        success: boolean;
        error?: { issues: Array<{ path: PropertyKey[]; message: string }> };
      };
    }
  >;
  for (const [name, value] of Object.entries(changes)) {
    const schema = shape[name];
    if (schema === undefined) continue;
    // The workflow's code parts (zod schemas, functions) are checked when the agent loads.
    const data = name === 'workflow' ? workflowForCheck(value) : value;
    const r = schema.safeParse(data === null ? undefined : data);
    if (!r.success) {
      for (const i of r.error?.issues ?? []) {
        issues.push({ field: [name, ...i.path.map(String)].join('.'), message: i.message });
      }
    }
  }
  if (issues.length === 0 && edited.object !== null) {
    const whole: Record<string, unknown> = {};
    let literal = true;
    for (const p of edited.object.properties) {
      if (p.type !== 'ObjectProperty' || p.computed) {
        literal = false;
        break;
      }
      const key =
        p.key.type === 'Identifier'
          ? p.key.name
          : p.key.type === 'StringLiteral'
            ? p.key.value
            : undefined;
      const v = staticValue(p.value as Expression, edited);
      if (key === undefined || !v.ok) {
        literal = false;
        break;
      }
      whole[key] = v.value;
    }
    if (literal) {
      try {
        defineAgent(whole as Parameters<typeof defineAgent>[0]);
      } catch (error) {
        if (error instanceof AgentDefinitionError) issues.push(...error.issues);
        else throw error;
      }
    }
  }
  if (issues.length > 0) {
    throw new AgentDefinitionError(
      `Invalid agent definition: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
      issues,
    );
  }
}
