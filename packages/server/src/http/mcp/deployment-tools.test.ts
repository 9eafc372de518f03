import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Deployment } from '../../store/deployments.ts';
import type { Runtime } from '../../store/runtimes.ts';
import { deploymentTool, deploymentToolInputSchema } from './deployment-tools.ts';

const deployment: Deployment = {
  id: 'dep_1',
  apiSlug: 'support-bot',
  runtimeId: 'rtm_1',
  templateSlug: 'debian-13',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

function runtime(definition: Record<string, unknown>): Runtime {
  const { createdAt, updatedAt } = deployment;
  return { id: 'rtm_1', slug: 'support-bot', version: 1, definition, createdAt, updatedAt };
}

describe('deploymentTool', () => {
  it('is named by the apiSlug and described by the runtime and its model', () => {
    const tool = deploymentTool(
      deployment,
      runtime({
        name: 'Support bot',
        description: 'Answers questions about orders.',
        systemPrompt: 'You are a support agent.',
        model: 'claude-sonnet-4-5',
      }),
    );
    assert.equal(tool.name, 'support-bot');
    assert.equal(tool.title, 'Support bot');
    assert.match(tool.description ?? '', /^Answers questions about orders\.\n\n/);
    assert.match(tool.description ?? '', /model claude-sonnet-4-5/);
    assert.deepEqual(tool.inputSchema.required, ['input']);
    assert.equal(tool.inputSchema.$schema, undefined);
    assert.deepEqual(tool.outputSchema?.required, ['runId', 'status', 'output', 'error']);
  });

  it('falls back to the start of the system prompt, and never shows an endpoint or key', () => {
    const prompt = `You review pull requests.   ${'Be thorough. '.repeat(100)}`;
    const tool = deploymentTool(
      deployment,
      runtime({
        systemPrompt: prompt,
        model: {
          provider: 'custom',
          endpoint: 'http://10.0.0.5:8000/v1',
          model: 'llama-3',
          apiKey: 'sk-secret',
        },
      }),
    );
    const description = tool.description ?? '';
    assert.match(description, /^An agent instructed: "You review pull requests\. Be thorough\./);
    assert.match(description, /…"/);
    assert.ok(description.length < 700, description);
    assert.match(description, /model llama-3 \(custom\)/);
    assert.doesNotMatch(description, /10\.0\.0\.5|sk-secret/);
    const provider = deploymentTool(
      deployment,
      runtime({ systemPrompt: 'x', model: { provider: 'openai', model: 'gpt-4o', apiKey: 'k' } }),
    );
    assert.match(provider.description ?? '', /model openai\/gpt-4o/);
  });

  it('describes a deployment whose runtime is missing or unreadable', () => {
    for (const found of [undefined, runtime({ description: 42, model: null })]) {
      const tool = deploymentTool(deployment, found);
      assert.match(tool.description ?? '', /deployed at "support-bot"/);
    }
  });
});

describe('deploymentToolInputSchema', () => {
  it('takes a non-empty input and optional metadata, nothing else', () => {
    assert.ok(deploymentToolInputSchema.safeParse({ input: 'x', metadata: { a: 1 } }).success);
    for (const bad of [{}, { input: '' }, { input: 1 }, { input: 'x', async: true }]) {
      assert.equal(deploymentToolInputSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});
