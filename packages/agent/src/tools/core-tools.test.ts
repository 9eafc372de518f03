import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RunToolsError } from '@runtools/sdk/errors';
import { z } from 'zod';
import { coreTools, createCoreTools } from './core-tools.ts';

describe('core tools', () => {
  it('names every tool by the key it is registered under', () => {
    assert.deepEqual(Object.keys(coreTools), [
      'bash',
      'read_file',
      'edit_file',
      'grep',
      'glob',
      'web_search',
    ]);
    for (const [name, tool] of Object.entries(coreTools)) assert.equal(tool.name, name);
  });

  it('gives the model a JSON schema with a description for every field', () => {
    for (const tool of Object.values(coreTools)) {
      const schema = z.toJSONSchema(tool.inputSchema, { io: 'input' }) as {
        properties: Record<string, { description?: string }>;
      };
      for (const [field, s] of Object.entries(schema.properties)) {
        assert.ok(s.description && s.description.length > 20, `${tool.name}.${field} is described`);
      }
    }
  });

  it('creates the tools an agent names, in its order', () => {
    const tools = createCoreTools(['grep', 'bash']);
    assert.deepEqual(Object.keys(tools), ['grep', 'bash']);
    assert.equal(tools.bash, coreTools.bash);
  });

  it('refuses unknown tool names with an unknown_tool error listing the known ones', () => {
    assert.throws(
      () => createCoreTools(['bash', 'browser', 'toString']),
      (err: unknown) => {
        assert.ok(RunToolsError.isInstance(err));
        assert.equal(err.code, 'unknown_tool');
        assert.equal(
          err.message,
          'Unknown tools "browser", "toString". The core tools are: bash, read_file, edit_file, grep, glob, web_search.',
        );
        assert.deepEqual(err.details.unknown, ['browser', 'toString']);
        return true;
      },
    );
  });
});
