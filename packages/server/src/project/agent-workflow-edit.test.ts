import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RunToolsError } from '@runtools/sdk';
import { createTwoFilesPatch } from 'diff';
import { agentFields } from './agent-fields.ts';
import { checkDefinition, checkEditable } from './agent-file-check.ts';
import { corpus } from './agent-file-corpus.ts';
import { editAgentSource } from './agent-file-edit.ts';
import { parseAgentFile } from './agent-file-parse.ts';

type Steps = Record<string, Record<string, unknown>>;
interface Workflow {
  start: string;
  steps: Steps;
}

const entry = corpus.find((c) => c.file === 'agents/triage.ts');
assert.ok(entry);
const text = entry.text;

function workflow(source = text): Workflow {
  const field = agentFields(parseAgentFile(source)).find((f) => f.name === 'workflow');
  assert.equal(field?.editable, true, field?.reason);
  return structuredClone(field?.value) as Workflow;
}

/** The workflow edited as the builder does it: checked, written, checked again. */
function edit(change: (w: Workflow) => void): string {
  const w = workflow();
  change(w);
  const parsed = parseAgentFile(text);
  checkEditable(parsed, { workflow: w });
  const out = editAgentSource(parsed, { workflow: w });
  checkDefinition(parseAgentFile(out), { workflow: w });
  assert.deepEqual(workflow(out), w, 'the file reads back as written');
  return out;
}

/** The lines a diff removes and adds. */
function changedLines(before: string, after: string): string[] {
  return createTwoFilesPatch('a', 'b', before, after)
    .split('\n')
    .filter((l) => /^[-+]/.test(l) && !/^(---|\+\+\+) /.test(l));
}

describe('workflow edits in the agent file', () => {
  it('reads the workflow as data, its zod schema and function as code markers', () => {
    const w = workflow();
    assert.equal(w.start, 'triage');
    assert.deepEqual(w.steps.triage?.output, {
      $code: "z.object({ category: z.enum(['bug', 'question']) })",
    });
    assert.deepEqual(w.steps.tag?.run, { $code: 'tagRelease' });
    assert.deepEqual(w.steps.route?.cases, { bug: 'fix', question: 'answer' });
  });

  it('a save of the workflow as read leaves the file byte-identical', () => {
    assert.equal(
      edit(() => {}),
      text,
    );
  });

  it("editing one step's prompt changes only that string", () => {
    const out = edit((w) => {
      (w.steps.notes as Record<string, unknown>).prompt = 'Write the "release" notes.';
    });
    assert.deepEqual(changedLines(text, out), [
      "-      notes: { kind: 'agent', prompt: 'Release notes.' },",
      "+      notes: { kind: 'agent', prompt: 'Write the \"release\" notes.' },",
    ]);
  });

  it('editing the prompt of a step written over several lines changes only its line', () => {
    const out = edit((w) => {
      (w.steps.triage as Record<string, unknown>).prompt = 'Sort: {{input}}';
    });
    assert.deepEqual(changedLines(text, out), [
      "-        prompt: 'Classify: {{input}}',",
      "+        prompt: 'Sort: {{input}}',",
    ]);
  });

  it('adding a step writes one new entry after the last, in its layout, and the edge to it', () => {
    const out = edit((w) => {
      w.steps.followup = { kind: 'agent', prompt: 'Follow up.' };
      (w.steps.answer as Record<string, unknown>).next = 'followup';
    });
    assert.deepEqual(changedLines(text, out), [
      "-      answer: { kind: 'agent', prompt: 'Answer: {{input}}' },",
      "+      answer: { kind: 'agent', prompt: 'Answer: {{input}}', next: 'followup' },",
      "+      followup: { kind: 'agent', prompt: 'Follow up.' },",
    ]);
  });

  it('reconnecting an edge changes only that value', () => {
    const out = edit((w) => {
      (w.steps.review as Record<string, unknown>).denied = 'done';
    });
    assert.deepEqual(changedLines(text, out), [
      "-      review: { kind: 'approval', message: 'Ship it?', next: 'ship', denied: 'answer' },",
      "+      review: { kind: 'approval', message: 'Ship it?', next: 'ship', denied: 'done' },",
    ]);
    const cases = edit((w) => {
      (w.steps.route?.cases as Record<string, string>).question = 'done';
    });
    assert.deepEqual(changedLines(text, cases), [
      "-        cases: { bug: 'fix', question: 'answer' },",
      "+        cases: { bug: 'fix', question: 'done' },",
    ]);
  });

  it('removing a step removes its lines and the edges to it', () => {
    const out = edit((w) => {
      delete w.steps.done;
      delete (w.steps.ship as Record<string, unknown>).next;
    });
    assert.deepEqual(changedLines(text, out), [
      "-      ship: { kind: 'parallel', steps: ['notes', 'tag'], next: 'done' },",
      "+      ship: { kind: 'parallel', steps: ['notes', 'tag'] },",
      "-      done: { kind: 'agent', prompt: 'Summarise.' },",
    ]);
  });

  it('removing the step that holds a function removes the function only there', () => {
    const out = edit((w) => {
      delete w.steps.tag;
      delete w.steps.notes;
      w.steps.ship = { kind: 'agent', prompt: 'Ship.', next: 'done' };
    });
    assert.ok(!out.includes('run: tagRelease'));
    assert.ok(out.includes('async function tagRelease'), 'code outside the workflow stays');
    assert.ok(out.includes("output: z.object({ category: z.enum(['bug', 'question']) }),"));
  });

  it('refuses code that is not already in the workflow, and markers in other fields', () => {
    const w = workflow();
    (w.steps.tag as Record<string, unknown>).run = { $code: "require('child_process')" };
    assert.throws(
      () => checkEditable(parseAgentFile(text), { workflow: w }),
      (e: unknown) =>
        RunToolsError.isInstance(e) &&
        e.code === 'agent_field_read_only' &&
        e.message.includes('workflow.steps.tag.run'),
    );
    assert.throws(() => editAgentSource(parseAgentFile(text), { name: { $code: 'evil()' } }));
  });

  it('refuses an edit that breaks the graph, naming the step', () => {
    const w = workflow();
    (w.steps.review as Record<string, unknown>).next = 'nowhere';
    const out = editAgentSource(parseAgentFile(text), { workflow: w });
    assert.throws(
      () => checkDefinition(parseAgentFile(out), { workflow: w }),
      /workflow\.steps\.review: step "review" leads to "nowhere"/,
    );
  });

  it('a workflow whose steps are computed is read-only, saying why', () => {
    const source = text.replace(/steps: \{\n[\s\S]*?\n {4}\},\n {2}\},/, 'steps: STEPS,\n  },');
    assert.notEqual(source, text);
    const field = agentFields(parseAgentFile(source)).find((f) => f.name === 'workflow');
    assert.equal(field?.editable, false);
    assert.match(field?.reason ?? '', /the workflow's steps is code/);
  });
});
