import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ObjectProperty } from '@babel/types';
import { agentFields, editableAgentFields, findProperty } from './agent-fields.ts';
import { corpus } from './agent-file-corpus.ts';
import { editAgentSource } from './agent-file-edit.ts';
import { parseAgentFile } from './agent-file-parse.ts';

/** A different value for a field, with characters that must be escaped. */
function changed(field: string, value: unknown): unknown {
  switch (field) {
    case 'slug':
      return 'renamed';
    case 'name':
      return `Renamed "it's"`;
    case 'description':
      // biome-ignore lint/suspicious/noTemplateCurlyInString: text a user types, not a template
      return 'A `tick` and ${dollar}';
    case 'model':
      return typeof value === 'string'
        ? value === 'gpt-5'
          ? 'gpt-5-mini'
          : 'gpt-5'
        : { ...(value as object), model: 'llama-3.3-70b' };
    case 'systemPrompt':
      // biome-ignore lint/suspicious/noTemplateCurlyInString: text a user types, not a template
      return 'First line\nSecond `line` with ${braces} and a \\ backslash';
    case 'tools': {
      const tools = value as string[];
      return tools.includes('web_search') ? tools.slice(0, -1) : [...tools, 'web_search'];
    }
    case 'template':
      return 'python-ml';
    case 'maxSteps':
      return 42;
    case 'timeoutMs':
      return 120_000;
    case 'temperature':
      return 0.7;
    case 'env':
      return { ...(value as object), NEW_VAR: `quote " and ' both` };
    case 'workflow': {
      // The start step's prompt, the rest (code parts' markers included) as read.
      const w = value as { start: string; steps: Record<string, object> };
      const start = { ...w.steps[w.start], prompt: 'A new "prompt" with `ticks`' };
      return { ...w, steps: { ...w.steps, [w.start]: start } };
    }
    default:
      throw new Error(field);
  }
}

/** Fields a corpus file lacks that the test adds. */
const added: Record<string, unknown> = { description: 'Added by the builder.', temperature: 0.4 };

describe('agent file round trips (corpus)', () => {
  it('holds at least 20 files', () => assert.ok(corpus.length >= 20));

  for (const entry of corpus) {
    describe(entry.name, () => {
      const parsed = parseAgentFile(entry.text);

      it('finds the agent object', () => assert.notEqual(parsed.object, null));

      it('a save with no change leaves the file byte-identical', () => {
        const same = Object.fromEntries(
          agentFields(parsed)
            .filter((f) => f.editable)
            .map((f) => [f.name, f.value]),
        );
        assert.equal(editAgentSource(parsed, same), entry.text);
        assert.equal(editAgentSource(parsed, {}), entry.text);
      });

      for (const field of agentFields(parsed).filter((f) => f.editable)) {
        it(`setting ${field.name} changes only its text`, () => {
          const value = changed(field.name, field.value);
          const out = editAgentSource(parsed, { [field.name]: value });
          assert.notEqual(out, entry.text);
          const prefix = entry.text.slice(0, field.range.start);
          const suffix = entry.text.slice(field.range.end);
          assert.ok(out.startsWith(prefix), `text before ${field.name} is unchanged`);
          assert.ok(out.endsWith(suffix), `text after ${field.name} is unchanged`);
          const again = parseAgentFile(out);
          const after = agentFields(again).findLast((f) => f.name === field.name);
          assert.deepEqual(after?.value, value);
          assert.equal(after?.editable, true);
        });
      }

      for (const [name, value] of Object.entries(added)) {
        if (parsed.object === null || findProperty(parsed.object, name) !== undefined) continue;
        it(`adding ${name} goes after the last field`, () => {
          const object = parsed.object;
          assert.ok(object);
          const last = object.properties.at(-1) as ObjectProperty;
          const out = editAgentSource(parsed, { [name]: value });
          assert.ok(out.startsWith(entry.text.slice(0, last.end ?? 0)));
          assert.ok(out.endsWith(entry.text.slice((object.end ?? 0) - 1)));
          const field = agentFields(parseAgentFile(out)).findLast((f) => f.name === name);
          assert.equal(field?.value, value);
        });
      }

      it('keeps its line endings', () => {
        const editable = agentFields(parsed).find((f) => f.editable && f.name === 'systemPrompt');
        if (editable === undefined) return;
        const out = editAgentSource(parsed, { systemPrompt: 'a\nb' });
        if (entry.text.includes('\r\n'))
          assert.equal(out.replaceAll('\r\n', '').includes('\n'), false);
        else assert.equal(out.includes('\r'), false);
      });
    });
  }
});

describe('agent file edits', () => {
  it('adds a tool to a one-per-line array in its layout, keeping the comments', () => {
    const entry = corpus.find((c) => c.file === 'agents/support.ts');
    assert.ok(entry);
    const out = editAgentSource(parseAgentFile(entry.text), {
      tools: ['bash', 'read_file', 'edit_file', 'grep'],
    });
    assert.match(
      out,
      /tools: \[\n {4}'bash', \/\/ for scripts\n {4}\/\/ reading is fine\n {4}'read_file',\n {4}'edit_file',\n {4}'grep' \/\* search \*\/,\n {2}\],/,
    );
  });

  it('adds an element to an array without trailing commas in that style', () => {
    const entry = corpus.find((c) => c.file === 'agents/no-trailing.ts');
    assert.ok(entry);
    const out = editAgentSource(parseAgentFile(entry.text), { tools: ['bash', 'grep', 'glob'] });
    assert.match(out, /tools: \[\n {4}'bash',\n {4}'grep',\n {4}'glob'\n {2}\]\n\}\);/);
  });

  it('writes a multi-line prompt as a template literal with backticks and ${ escaped', () => {
    const entry = corpus.find((c) => c.file === 'agents/reviewer.ts');
    assert.ok(entry);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: text a user types, not a template
    const prompt = 'Review `this`.\nNever ${interpolate}.';
    const out = editAgentSource(parseAgentFile(entry.text), { systemPrompt: prompt });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: text a user types, not a template
    assert.ok(out.includes('systemPrompt: `Review \\`this\\`.\nNever \\${interpolate}.`,'));
  });

  it('writes a multi-line prompt with CRLF in a CRLF file, and the value reads back with \\n', () => {
    const entry = corpus.find((c) => c.file === 'agents/crlf.ts');
    assert.ok(entry);
    const out = editAgentSource(parseAgentFile(entry.text), { systemPrompt: 'one\ntwo' });
    assert.ok(out.includes('systemPrompt: `one\r\ntwo`,'));
    assert.ok(out.startsWith('import'));
  });

  it('keeps the BOM', () => {
    const entry = corpus.find((c) => c.file === 'agents/bom.ts');
    assert.ok(entry);
    const out = editAgentSource(parseAgentFile(entry.text), { maxSteps: 3 });
    assert.ok(out.startsWith('\uFEFFimport'));
    assert.ok(out.includes('    template: "nodejs-20",\r\n    maxSteps: 3\r\n});'));
  });

  it('turns a string into an escaped literal, never into code', () => {
    const entry = corpus.find((c) => c.file === 'agents/reviewer.ts');
    assert.ok(entry);
    for (const hostile of [
      '"; process.exit(1); "',
      "'); require('child_process').execSync('id'); ('",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: text a user types, not a template
      '`${process.exit(1)}`',
      'a\u2028b\u0000c\\',
      '\ud800 lone surrogate',
    ]) {
      const out = editAgentSource(parseAgentFile(entry.text), { name: hostile });
      const parsed = parseAgentFile(out);
      assert.equal(agentFields(parsed).find((f) => f.name === 'name')?.value, hostile);
      assert.equal(
        parsed.ast.program.body.length,
        parseAgentFile(entry.text).ast.program.body.length,
      );
    }
  });

  it('removes a field set to null, and a custom model becomes a string', () => {
    const entry = corpus.find((c) => c.file === 'agents/local-llama.ts');
    assert.ok(entry);
    const out = editAgentSource(parseAgentFile(entry.text), { model: 'auto', tools: null });
    assert.equal(
      out,
      entry.text.replace(/model: \{[^}]*\},/, "model: 'auto',").replace("  tools: ['bash'],\n", ''),
    );
  });

  it('sets a custom endpoint object where a string was', () => {
    const entry = corpus.find((c) => c.file === 'agents/code-assistant.ts');
    assert.ok(entry);
    const model = { provider: 'custom', endpoint: 'http://127.0.0.1:8000/v1', model: 'llama' };
    const out = editAgentSource(parseAgentFile(entry.text), { model });
    assert.ok(
      out.includes(
        "  model: { provider: 'custom', endpoint: 'http://127.0.0.1:8000/v1', model: 'llama' },\n",
      ),
    );
  });

  it('reports why a field is read-only', () => {
    const reasons = (file: string) => {
      const entry = corpus.find((c) => c.file === file);
      assert.ok(entry);
      return Object.fromEntries(
        agentFields(parseAgentFile(entry.text)).map((f) => [
          f.name,
          f.editable ? 'editable' : f.reason,
        ]),
      );
    };
    assert.equal(
      reasons('agents/imported-prompt.ts').systemPrompt,
      'imported from ../lib/prompts.ts',
    );
    assert.equal(
      reasons('agents/spread-agent.ts')['...base'],
      'spread, imported from ../lib/base.ts',
    );
    assert.equal(reasons('agents/computed.ts').systemPrompt, 'computed');
    assert.equal(
      reasons('agents/computed.ts').description,
      'a template literal with substitutions',
    );
    assert.equal(reasons('agents/orders/index.ts').tools, 'imported from ./tools.ts');
    assert.equal(reasons('agents/inline-tool.ts').tools, 'computed');
    assert.equal(reasons('agents/variable-prompt.ts').systemPrompt, 'the variable PROMPT');
    assert.equal(reasons('agents/with-env.ts').mcpServers, 'not edited by the builder');
    assert.equal(reasons('agents/with-env.ts').env, 'editable');
  });

  it('every field the issue names is editable somewhere in the corpus', () => {
    const seen = new Set<string>();
    for (const entry of corpus) {
      for (const f of agentFields(parseAgentFile(entry.text))) if (f.editable) seen.add(f.name);
    }
    for (const name of editableAgentFields) assert.ok(seen.has(name), name);
  });
});
