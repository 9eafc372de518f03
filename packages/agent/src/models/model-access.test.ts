import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RunToolsError } from '@runtools/sdk/errors';
import { generateText } from 'ai';
import { loopbackRanges } from '../net/forbidden-ranges.ts';
import { TestModelServer } from '../testing/test-model-server.ts';
import { isUnder, ModelAccess } from './model-access.ts';
import { resolveModel } from './model-registry.ts';

const SERVER_KEY = 'sk-server-held-key-0123456789';

/** A RunToolsError with `code`. */
const withCode = (code: string) => (error: unknown) => {
  assert.ok(RunToolsError.isInstance(error), `expected ${code}, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  return true;
};

/** Everything the listener received that could carry the server's key. */
const leaked = (server: TestModelServer) =>
  server.credentials.filter((c) => c.includes(SERVER_KEY));

describe('model keys the server holds', () => {
  // Loopback is allowed as an endpoint here (as under `runtools dev`), but not as a base URL
  // for the server's keys: exactly the case where a runtime could point a key at itself.
  const access = new ModelAccess({ endpointAllow: loopbackRanges });

  it("never sends OPENAI_API_KEY to a runtime's own baseURL", async () => {
    await using listener = await TestModelServer.start({ script: [{ text: 'leaked' }] });
    const env = { OPENAI_API_KEY: SERVER_KEY };
    for (const spec of [
      { provider: 'openai' as const, model: 'gpt-5.4', baseURL: listener.baseURL },
      {
        provider: 'openai' as const,
        model: 'gpt-5.4',
        baseURL: listener.baseURL,
        apiKey: 'env:OPENAI_API_KEY',
      },
      { provider: 'custom' as const, endpoint: listener.baseURL, apiKey: 'env:OPENAI_API_KEY' },
      {
        provider: 'openai-compatible' as const,
        model: 'm',
        baseURL: listener.baseURL,
        apiKey: 'env:OPENAI_API_KEY',
      },
      {
        provider: 'anthropic' as const,
        model: 'claude-x',
        baseURL: listener.baseURL,
        apiKey: 'env:OPENAI_API_KEY',
      },
    ]) {
      assert.throws(
        () => resolveModel(spec, env, undefined, access),
        withCode('model_key_not_allowed'),
      );
    }
    assert.throws(
      () =>
        resolveModel(
          'llama-3',
          env,
          {
            openaiCompatible: {
              name: 'x',
              baseURL: listener.baseURL,
              apiKey: 'env:OPENAI_API_KEY',
            },
          },
          access,
        ),
      withCode('model_key_not_allowed'),
    );
    assert.deepEqual(leaked(listener), []);
    assert.equal(listener.credentials.length, 0);
  });

  it('says what to do: bring an own key, or have the operator list the URL', () => {
    const spec = {
      provider: 'openai' as const,
      model: 'gpt-5.4',
      baseURL: 'http://127.0.0.1:9/v1',
    };
    assert.throws(
      () => resolveModel(spec, { OPENAI_API_KEY: SERVER_KEY }, undefined, access),
      (error: Error) => {
        assert.match(error.message, /OPENAI_API_KEY/);
        assert.match(error.message, /RUNTOOLS_MODEL_BASE_URLS/);
        assert.match(error.message, /own apiKey/);
        assert.doesNotMatch(error.message, new RegExp(SERVER_KEY));
        return true;
      },
    );
  });

  it('a runtime that brings its own key reaches its endpoint with that key only', async () => {
    await using listener = await TestModelServer.start({ script: [{ text: 'own key' }] });
    const model = resolveModel(
      {
        provider: 'openai',
        model: 'gpt-5.4',
        baseURL: listener.baseURL,
        apiKey: 'runtime-own-key',
      },
      { OPENAI_API_KEY: SERVER_KEY },
      undefined,
      access,
    );
    assert.equal((await generateText({ model, prompt: 'hi' })).text, 'own key');
    assert.deepEqual(listener.credentials, ['Bearer runtime-own-key']);
  });

  it('sends the key to base URLs the operator allowed, and to a *_BASE_URL the operator set', async () => {
    await using listener = await TestModelServer.start({ script: [{ text: 'a' }, { text: 'b' }] });
    const listed = new ModelAccess({ keyBaseURLs: [listener.baseURL] });
    const spec = { provider: 'openai' as const, model: 'gpt-5.4', baseURL: `${listener.baseURL}/` };
    const model = resolveModel(spec, { OPENAI_API_KEY: SERVER_KEY }, undefined, listed);
    assert.equal((await generateText({ model, prompt: 'hi' })).text, 'a');
    const fromEnv = resolveModel(
      'gpt-5.4',
      { OPENAI_API_KEY: SERVER_KEY, OPENAI_BASE_URL: listener.baseURL },
      undefined,
      new ModelAccess(),
    );
    assert.equal((await generateText({ model: fromEnv, prompt: 'hi' })).text, 'b');
    assert.deepEqual(listener.credentials, [`Bearer ${SERVER_KEY}`, `Bearer ${SERVER_KEY}`]);
  });

  it("refuses apiKey: 'env:NAME' for a variable the operator did not list, set or not", () => {
    const spec = { provider: 'custom' as const, endpoint: 'https://models.example.test/v1' };
    for (const env of [{ SECRET_THING: 'hunter2' }, {}]) {
      assert.throws(
        () => resolveModel({ ...spec, apiKey: 'env:SECRET_THING' }, env, undefined, access),
        (error: Error) => {
          withCode('model_key_not_allowed')(error);
          assert.match(error.message, /RUNTOOLS_MODEL_KEY_VARS/);
          assert.doesNotMatch(error.message, /hunter2/);
          return true;
        },
      );
    }
    const listing = new ModelAccess({ keyVariables: ['SECRET_THING'] });
    assert.ok(
      resolveModel(
        { ...spec, apiKey: 'env:SECRET_THING' },
        { SECRET_THING: 'hunter2' },
        undefined,
        listing,
      ),
    );
  });

  it("keeps a provider's key going to its own API", () => {
    const strict = new ModelAccess();
    for (const [spec, env] of [
      ['claude-sonnet-4-5', { ANTHROPIC_API_KEY: 'a' }],
      ['gpt-5.4', { OPENAI_API_KEY: 'o' }],
      ['gemini-pro-latest', { GOOGLE_GENERATIVE_AI_API_KEY: 'g' }],
      ['auto', { OPENAI_API_KEY: 'o' }],
      [
        { provider: 'openai', model: 'gpt-5.4', baseURL: 'https://api.openai.com/v1' },
        { OPENAI_API_KEY: 'o' },
      ],
      [
        { provider: 'anthropic', model: 'claude-x', apiKey: 'env:ANTHROPIC_API_KEY' },
        { ANTHROPIC_API_KEY: 'a' },
      ],
    ] as const) {
      assert.ok(resolveModel(spec, env, undefined, strict), JSON.stringify(spec));
    }
  });
});

describe('custom model endpoints', () => {
  it('refuses an endpoint on loopback unless allowed; the listener sees nothing', async () => {
    await using listener = await TestModelServer.start({ script: [{ text: 'reached' }] });
    const spec = { provider: 'custom' as const, endpoint: listener.baseURL, apiKey: 'own' };
    const strict = resolveModel(spec, {}, undefined, new ModelAccess());
    await assert.rejects(
      generateText({ model: strict, prompt: 'hi', maxRetries: 0 }),
      (error: Error) => {
        withCode('model_endpoint_forbidden')(error);
        assert.match(error.message, /RUNTOOLS_MODEL_ENDPOINT_ALLOW/);
        return true;
      },
    );
    assert.equal(listener.credentials.length, 0);
    const allowed = resolveModel(
      spec,
      {},
      undefined,
      new ModelAccess({ endpointAllow: ['127.0.0.1/32'] }),
    );
    assert.equal((await generateText({ model: allowed, prompt: 'hi' })).text, 'reached');
  });

  it('checks the address a name resolves to, and the IPv6 forms of loopback', async () => {
    await using listener = await TestModelServer.start();
    const access = new ModelAccess({
      lookup: async () => [{ address: '127.0.0.1', family: 4 }],
    });
    for (const endpoint of [
      `http://llm.example.test:${new URL(listener.url).port}/v1`,
      `http://[::ffff:127.0.0.1]:${new URL(listener.url).port}/v1`,
      `http://[::1]:${new URL(listener.url).port}/v1`,
    ]) {
      const model = resolveModel({ provider: 'custom', endpoint }, {}, undefined, access);
      await assert.rejects(
        generateText({ model, prompt: 'hi', maxRetries: 0 }),
        withCode('model_endpoint_forbidden'),
        endpoint,
      );
    }
    assert.equal(listener.credentials.length + listener.requests.length, 0);
  });
});

describe('isUnder', () => {
  it('matches a URL prefix at a path segment on the same origin', () => {
    const base = 'https://gw.example.com/v1';
    assert.ok(isUnder('https://gw.example.com/v1', base));
    assert.ok(isUnder('https://gw.example.com/v1/chat/completions', base));
    assert.ok(isUnder('https://GW.example.com:443/v1/', base));
    assert.ok(!isUnder('https://gw.example.com/v10', base));
    assert.ok(!isUnder('https://gw.example.com.evil.test/v1', base));
    assert.ok(!isUnder('http://gw.example.com/v1', base));
    assert.ok(!isUnder('https://gw.example.com:8443/v1', base));
    assert.ok(!isUnder('https://user:pw@gw.example.com/v1', base));
    assert.ok(isUnder('https://gw.example.com/anything', 'https://gw.example.com'));
  });
});
