import assert from 'node:assert/strict';
import { it } from 'node:test';
import { maskSecret } from '@runtools/sdk/api';
import { describeEachDatabase } from '../../testing/test-databases.ts';
import { startTestServer } from '../../testing/test-server.ts';

const apiKey = 'sk-proj-0123456789abcdefghijklmnopqrstuvwxyz';
const rotated = 'sk-proj-zyxwvutsrqponmlkjihgfedcba9876543210';
const definition = {
  slug: 'keyed',
  model: { provider: 'openai', model: 'gpt-test', apiKey },
  systemPrompt: 'Be brief.',
};

interface RuntimeJson {
  id: string;
  version: number;
  definition: { model: { apiKey?: string; headers?: Record<string, string> } };
}

describeEachDatabase('runtime secrets over /v1/runtimes', ({ open }) => {
  it('shows a literal model key masked in every answer, and keeps it for runs', async () => {
    await using server = await startTestServer(await open());
    const created = await server.request('POST', '/v1/runtimes', { body: definition });
    assert.equal(created.status, 201);
    const runtime = created.body as RuntimeJson;
    assert.equal(runtime.definition.model.apiKey, 'sk-…wxyz');
    assert.equal(maskSecret(apiKey), 'sk-…wxyz');
    for (const path of [`/v1/runtimes/${runtime.id}`, '/v1/runtimes', '/v1/runtimes?slug=keyed']) {
      const response = await server.request('GET', path);
      assert.equal(JSON.stringify(response.body).includes(apiKey), false, path);
    }
    const stored = await server.store.runtimes.get(runtime.id);
    assert.equal(
      (stored?.definition as RuntimeJson['definition'] | undefined)?.model.apiKey,
      apiKey,
    );
  });

  it('keeps the stored key when the masked definition is sent back, and takes a new one', async () => {
    await using server = await startTestServer(await open());
    const { id } = (await server.request('POST', '/v1/runtimes', { body: definition }))
      .body as RuntimeJson;
    const shown = ((await server.request('GET', `/v1/runtimes/${id}`)).body as RuntimeJson)
      .definition;
    const put = await server.request('PUT', `/v1/runtimes/${id}`, {
      body: { ...shown, systemPrompt: 'Be thorough.' },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const keyOf = async (runtimeId: string) =>
      (
        (await server.store.runtimes.get(runtimeId))?.definition as
          | RuntimeJson['definition']
          | undefined
      )?.model.apiKey;
    assert.equal(await keyOf(id), apiKey);
    // A new version made from what GET showed keeps the slug's latest key too.
    const copy = await server.request('POST', '/v1/runtimes', { body: shown });
    assert.equal(copy.status, 201);
    assert.equal(await keyOf((copy.body as RuntimeJson).id), apiKey);
    // A new key replaces it.
    const changed = await server.request('PUT', `/v1/runtimes/${id}`, {
      body: { ...definition, model: { ...definition.model, apiKey: rotated } },
    });
    assert.equal((changed.body as RuntimeJson).definition.model.apiKey, maskSecret(rotated));
    assert.equal(await keyOf(id), rotated);
  });

  it('refuses a masked key that masks no stored one (it would be saved as the key)', async () => {
    await using server = await startTestServer(await open());
    const response = await server.request('POST', '/v1/runtimes', {
      body: { ...definition, slug: 'fresh', model: { ...definition.model, apiKey: 'sk-…wxyz' } },
    });
    assert.equal(response.status, 400);
    const error = (response.body as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'invalid_input');
    assert.match(error.message, /model\.apiKey: .*masked/);
  });

  it('masks header values but shows env:NAME, which names a variable', async () => {
    await using server = await startTestServer(await open());
    const created = await server.request('POST', '/v1/runtimes', {
      body: {
        slug: 'gateway',
        model: {
          provider: 'custom',
          endpoint: 'https://gateway.example.com/v1',
          apiKey: 'env:GATEWAY_KEY',
          headers: { 'x-api-key': 'gw-0123456789abcdefghij', 'x-team': 'ops' },
        },
      },
    });
    assert.equal(created.status, 201);
    assert.deepEqual((created.body as RuntimeJson).definition.model, {
      provider: 'custom',
      endpoint: 'https://gateway.example.com/v1',
      apiKey: 'env:GATEWAY_KEY',
      headers: { 'x-api-key': 'gw-…ghij', 'x-team': '…' },
    });
  });
});
