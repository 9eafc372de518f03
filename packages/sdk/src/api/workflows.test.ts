import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { AgentDefinitionError, defineAgent } from '../agent-definition.ts';
import { storedWorkflow, workflowDefinitionSchema, workflowSchema } from './workflows.ts';

const agent = (workflow: unknown) =>
  defineAgent({
    slug: 'flow',
    model: 'auto',
    systemPrompt: 'Work.',
    tools: ['bash'],
    workflow,
  } as never);

/** The messages of a refused workflow (each names the step). */
function refused(workflow: unknown): string[] {
  try {
    agent(workflow);
  } catch (error) {
    assert.ok(error instanceof AgentDefinitionError);
    return error.issues.map((i) => `${i.field}: ${i.message}`);
  }
  assert.fail('the workflow was accepted');
}

describe('workflow definitions', () => {
  const triage = {
    start: 'triage',
    steps: {
      triage: {
        kind: 'agent',
        prompt: 'Classify: {{input}}',
        output: z.object({ category: z.enum(['bug', 'question']) }),
        next: 'route',
      },
      route: {
        kind: 'branch',
        on: 'steps.triage.output.category',
        cases: { bug: 'fix', question: 'answer' },
      },
      fix: { kind: 'tool', tool: 'bash', input: { command: 'make test' }, next: 'review' },
      review: { kind: 'approval', message: 'Ship the fix?', next: 'ship', denied: 'answer' },
      ship: { kind: 'parallel', steps: ['notes', 'tag'], next: 'done' },
      notes: { kind: 'agent', prompt: 'Write release notes.' },
      tag: { kind: 'code', run: ({ steps }: { steps: object }) => Object.keys(steps).length },
      done: { kind: 'agent', prompt: 'Summarise.' },
      answer: { kind: 'agent', prompt: 'Answer: {{input}}' },
    },
  };

  it('accepts every kind of step, and a loop with a way out', () => {
    const defined = agent(triage);
    assert.equal(defined.workflow?.maxTransitions, 100);
    agent({
      start: 'write',
      steps: {
        write: { kind: 'agent', prompt: 'Write it.', next: 'check' },
        check: { kind: 'branch', on: 'steps.write.output', cases: { ok: 'end' }, default: 'write' },
        end: { kind: 'agent', prompt: 'Done.' },
      },
    });
  });

  it('refuses an unknown step, naming the step that names it', () => {
    assert.deepEqual(refused({ start: 'nope', steps: { a: { kind: 'agent', prompt: 'x' } } }), [
      'workflow.start: names the step "nope", which is not in steps',
    ]);
    assert.match(
      refused({ start: 'a', steps: { a: { kind: 'agent', prompt: 'x', next: 'b' } } }).join(),
      /step "a" leads to "b", which is not a step/,
    );
  });

  it('refuses an unreachable step, and a cycle without a way out', () => {
    assert.match(
      refused({
        start: 'a',
        steps: { a: { kind: 'agent', prompt: 'x' }, orphan: { kind: 'agent', prompt: 'y' } },
      }).join(),
      /step "orphan" is unreachable from "a"/,
    );
    assert.match(
      refused({
        start: 'a',
        steps: {
          a: { kind: 'agent', prompt: 'x', next: 'b' },
          b: { kind: 'branch', on: 'steps.a.output', cases: { again: 'a' }, default: 'a' },
        },
      }).join(),
      /steps "a" → "b" form a cycle with no way out/,
    );
  });

  it('refuses a parallel step over a step that goes on by itself, or that is not agent, tool or code', () => {
    const messages = refused({
      start: 'p',
      steps: {
        p: { kind: 'parallel', steps: ['a', 'b'] },
        a: { kind: 'agent', prompt: 'x', next: 'c' },
        b: { kind: 'approval', message: 'ok?' },
        c: { kind: 'agent', prompt: 'y' },
      },
    }).join('\n');
    assert.match(messages, /step "a" runs in parallel step "p".*no next of its own/);
    assert.match(
      messages,
      /step "b" runs in parallel step "p": it must be an agent, tool or code step/,
    );
  });

  it('stores zod outputs as JSON schema and functions as bundle; the stored form is JSON only', () => {
    const stored = storedWorkflow(agent(triage).workflow as never);
    const json = JSON.parse(JSON.stringify(stored));
    assert.deepEqual(json.steps.triage.output.properties.category.enum, ['bug', 'question']);
    assert.equal(json.steps.tag.run, 'bundle');
    assert.ok(workflowSchema.safeParse(json).success);
    // The API's form refuses code: a function is not JSON.
    assert.equal(
      workflowDefinitionSchema(true).safeParse({
        start: 'a',
        steps: { a: { kind: 'code', run: () => 1 } },
      }).success,
      false,
    );
  });
});
