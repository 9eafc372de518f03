import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { modelLabel } from './model-label.ts';

describe('modelLabel', () => {
  it("says a model name from another vendor goes to the project's OpenAI-compatible server", () => {
    const served = {
      provider: 'openai-compatible' as const,
      model: 'llama-4-scout',
      baseURL: 'http://127.0.0.1:8000/v1',
    };
    assert.deepEqual(modelLabel('llama-4-scout', served, {}), {
      text: 'llama-4-scout → OpenAI-compatible server at http://127.0.0.1:8000/v1',
    });
    const unserved = modelLabel('llama-4-scout', 'llama-4-scout', {});
    assert.match(unserved.text, /OpenAI-compatible provider/);
    assert.match(unserved.warning ?? '', /openaiCompatible/);
  });

  it('names the provider of a vendor model and says when its key is missing', () => {
    assert.deepEqual(modelLabel('claude-sonnet-4-20250514', 'claude-sonnet-4-20250514', {}), {
      text: 'claude-sonnet-4-20250514 (Anthropic)',
      warning: 'ANTHROPIC_API_KEY is not set',
    });
    assert.deepEqual(modelLabel('gpt-5', 'gpt-5', { OPENAI_API_KEY: 'sk-x' }), {
      text: 'gpt-5 (OpenAI)',
    });
  });

  it('says what auto picks, and where a custom endpoint is', () => {
    assert.deepEqual(modelLabel('auto', 'auto', {}), {
      text: 'auto → scripted demo model',
      warning: 'no provider key set',
    });
    const custom = {
      provider: 'custom' as const,
      endpoint: 'http://10.0.0.5:8080/v1',
      model: 'qwen',
    };
    assert.equal(
      modelLabel(custom, custom, {}).text,
      'qwen at http://10.0.0.5:8080/v1 (custom endpoint)',
    );
  });
});
