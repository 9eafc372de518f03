import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateText } from 'ai';
import { loopbackRanges } from '../net/forbidden-ranges.ts';
import { TestModelServer } from '../testing/test-model-server.ts';
import { ModelAccess } from './model-access.ts';
import {
  AUTO_MODELS,
  autoModelChoice,
  chatBaseURL,
  providerOf,
  resolveModel,
} from './model-registry.ts';
import { SCRIPTED_MODEL_ID } from './scripted-model.ts';

const modelOf = (m: ReturnType<typeof resolveModel>) =>
  typeof m === 'string' ? { provider: 'gateway', modelId: m } : m;

describe("model: 'auto'", () => {
  it('prefers Anthropic, then OpenAI, then Google, then the scripted model', () => {
    const all = { ANTHROPIC_API_KEY: 'a', OPENAI_API_KEY: 'o', GOOGLE_GENERATIVE_AI_API_KEY: 'g' };
    assert.deepEqual(autoModelChoice(all), {
      provider: 'anthropic',
      model: AUTO_MODELS.anthropic,
    });
    assert.equal(autoModelChoice({ ...all, ANTHROPIC_API_KEY: '' }).provider, 'openai');
    assert.equal(autoModelChoice({ GOOGLE_GENERATIVE_AI_API_KEY: 'g' }).provider, 'google');
    assert.equal(autoModelChoice({}).provider, 'scripted');

    assert.match(modelOf(resolveModel('auto', { ANTHROPIC_API_KEY: 'a' })).provider, /anthropic/);
    assert.equal(
      modelOf(resolveModel('auto', { ANTHROPIC_API_KEY: 'a' })).modelId,
      AUTO_MODELS.anthropic,
    );
    assert.match(modelOf(resolveModel('auto', { OPENAI_API_KEY: 'o' })).provider, /openai/);
    assert.match(
      modelOf(resolveModel('auto', { GOOGLE_GENERATIVE_AI_API_KEY: 'g' })).provider,
      /google/,
    );
    assert.equal(modelOf(resolveModel('auto', {})).modelId, SCRIPTED_MODEL_ID);
  });

  it("'scripted' is the scripted model even with keys; neither needs the OpenAI-compatible config", () => {
    assert.equal(
      modelOf(resolveModel('scripted', { ANTHROPIC_API_KEY: 'a' })).modelId,
      SCRIPTED_MODEL_ID,
    );
    assert.equal(providerOf('auto'), 'runtools');
    assert.equal(providerOf('llama-3.1-8b'), 'openai-compatible');
  });

  it("fails 'auto' with no_model_configured, naming the variables, without the demo model", () => {
    for (const choose of [
      () => autoModelChoice({}, { demoModel: false }),
      () =>
        resolveModel('auto', { OPENAI_API_KEY: '' }, undefined, undefined, { demoModel: false }),
    ]) {
      assert.throws(choose, (error: Error & { code?: string; details?: unknown }) => {
        assert.equal(error.code, 'no_model_configured');
        assert.match(
          error.message,
          /set ANTHROPIC_API_KEY, OPENAI_API_KEY or GOOGLE_GENERATIVE_AI_API_KEY/,
        );
        assert.deepEqual(error.details, {
          variables: ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GOOGLE_GENERATIVE_AI_API_KEY'],
        });
        return true;
      });
    }
    // A key still picks its provider, and 'scripted' asked for by name is still the demo model.
    const withKey = resolveModel('auto', { OPENAI_API_KEY: 'o' }, undefined, undefined, {
      demoModel: false,
    });
    assert.match(modelOf(withKey).provider, /openai/);
    const scripted = resolveModel('scripted', {}, undefined, undefined, { demoModel: false });
    assert.equal(modelOf(scripted).modelId, SCRIPTED_MODEL_ID);
  });
});

describe("model: { provider: 'custom', endpoint }", () => {
  it('takes the API root or the chat path as the endpoint, as users paste it', async () => {
    assert.equal(chatBaseURL('https://m.example.com/v1'), 'https://m.example.com/v1');
    assert.equal(chatBaseURL('https://m.example.com/v1/'), 'https://m.example.com/v1');
    assert.equal(chatBaseURL('https://m.example.com/v1/chat'), 'https://m.example.com/v1');
    assert.equal(
      chatBaseURL('https://m.example.com/v1/chat/completions'),
      'https://m.example.com/v1',
    );
    await using server = await TestModelServer.start({
      script: [{ text: 'one' }, { text: 'two' }, { text: 'three' }],
    });
    for (const [path, answer] of [
      ['/v1', 'one'],
      ['/v1/chat', 'two'],
      ['/v1/chat/completions', 'three'],
    ] as const) {
      const model = resolveModel(
        { provider: 'custom', endpoint: `${server.url}${path}` },
        {},
        undefined,
        new ModelAccess({ endpointAllow: loopbackRanges }),
      );
      assert.equal((await generateText({ model, prompt: 'hi' })).text, answer, path);
    }
  });
});
