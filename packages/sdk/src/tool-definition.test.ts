import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { defineAgent } from './agent-definition.ts';
import { runtimeInputSchema } from './api/runtimes.ts';
import {
  defineTool,
  isToolDefinition,
  splitAgentTools,
  type ToolCallContext,
  toolDescriptor,
} from './tool-definition.ts';

const lookupOrder = defineTool({
  name: 'lookup_order',
  description: 'Looks up an order by its id.',
  input: z.object({
    orderId: z.string().describe('e.g. A-1042'),
    verbose: z.boolean().default(false),
  }),
  secrets: ['ORDERS_API_KEY'],
  timeoutMs: 5000,
  execute: ({ orderId }, ctx) => `${orderId} ${ctx.secrets.ORDERS_API_KEY.length}`,
});

// Type tests (compiled by `tsc -b`): the input is the schema's output, the secrets are those declared.
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_proof?: T): void {}
expectType<
  Equal<Parameters<typeof lookupOrder.execute>[0], { orderId: string; verbose: boolean }>
>();
expectType<Equal<Parameters<typeof lookupOrder.execute>[1], ToolCallContext<'ORDERS_API_KEY'>>>();

const issues = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return {
      code: (error as { code?: string }).code,
      fields: ((error as { issues?: Array<{ field: string }> }).issues ?? []).map((i) => i.field),
    };
  }
  assert.fail('expected a throw');
};

describe('defineTool', () => {
  it('makes a frozen, marked definition', () => {
    assert.equal(isToolDefinition(lookupOrder), true);
    assert.equal(isToolDefinition({ name: 'lookup_order', execute: () => '' }), false);
    assert.equal(Object.isFrozen(lookupOrder), true);
    assert.deepEqual(lookupOrder.secrets, ['ORDERS_API_KEY']);
  });

  it('refuses a bad name, a core tool name, an input that is not a zod object, a RunTools variable', () => {
    const base = {
      name: 'ok',
      description: 'd',
      input: z.object({}),
      execute: () => '',
    };
    assert.deepEqual(
      issues(() => defineTool({ ...base, name: 'Lookup-Order' })),
      { code: 'invalid_tool', fields: ['name'] },
    );
    assert.deepEqual(issues(() => defineTool({ ...base, name: 'bash' })).fields, ['name']);
    assert.deepEqual(
      issues(() => defineTool({ ...base, input: z.string() as unknown as z.ZodObject })).fields,
      ['input'],
    );
    assert.deepEqual(
      issues(() => defineTool({ ...base, secrets: ['RUNTOOLS_SECRET_KEY', 'DATABASE_URL'] }))
        .fields,
      ['secrets.0', 'secrets.1'],
    );
    assert.deepEqual(issues(() => defineTool({ ...base, timeoutMs: 10 })).fields, ['timeoutMs']);
    // A schema JSON cannot describe is refused when the tool is defined, not when it is called.
    assert.deepEqual(
      issues(() => defineTool({ ...base, input: z.object({ n: z.bigint() }) })).fields,
      ['input'],
    );
  });

  it("describes a tool as the API stores it: the JSON schema of the model's input", () => {
    assert.deepEqual(toolDescriptor(lookupOrder), {
      custom: 'lookup_order',
      description: 'Looks up an order by its id.',
      inputSchema: {
        type: 'object',
        properties: {
          orderId: { type: 'string', description: 'e.g. A-1042' },
          verbose: { type: 'boolean', default: false },
        },
        required: ['orderId'],
      },
      secrets: ['ORDERS_API_KEY'],
      timeoutMs: 5000,
    });
  });
});

describe('an agent with custom tools', () => {
  const agent = { slug: 'support-bot', model: 'scripted', systemPrompt: 'Help.' };

  it('lists them beside core tools, and splits them by kind', () => {
    const defined = defineAgent({ ...agent, tools: ['bash', lookupOrder] });
    const split = splitAgentTools(defined.tools);
    assert.deepEqual(split.core, ['bash']);
    assert.equal(split.definitions[0], lookupOrder);
    assert.deepEqual(split.descriptors, []);
  });

  it('refuses two tools of one name, and descriptors without their bundle', () => {
    assert.throws(() => defineAgent({ ...agent, tools: [lookupOrder, lookupOrder] }), {
      code: 'invalid_agent',
      message: /two tools are named "lookup_order"/,
    });
    const descriptor = toolDescriptor(lookupOrder);
    assert.throws(() => defineAgent({ ...agent, tools: [descriptor] }), {
      code: 'invalid_agent',
      message: /bundle/,
    });
    const stored = defineAgent({ ...agent, tools: [descriptor], bundle: 'a'.repeat(64) });
    assert.deepEqual(splitAgentTools(stored.tools).descriptors, [descriptor]);
    assert.throws(() => defineAgent({ ...agent, tools: [{ name: 'x' }] as never }), {
      code: 'invalid_agent',
      message:
        /a core tool or integration name, .*a tool made by defineTool\(\), or a custom tool descriptor/,
    });
  });

  it('is sent to the API as descriptors: a defineTool() is code, which JSON cannot carry', () => {
    assert.equal(runtimeInputSchema.safeParse({ ...agent, tools: [lookupOrder] }).success, false);
    assert.equal(
      runtimeInputSchema.safeParse({
        ...agent,
        tools: ['bash', toolDescriptor(lookupOrder)],
        bundle: 'b'.repeat(64),
      }).success,
      true,
    );
  });
});
