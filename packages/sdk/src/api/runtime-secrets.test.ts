import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  definitionSecrets,
  isMaskedSecret,
  mapDefinitionSecrets,
  maskDefinitionSecrets,
  maskSecret,
} from './runtime-secrets.ts';

describe('the secrets of an agent definition', () => {
  it('are a literal model.apiKey and the values of model.headers, not env:NAME', () => {
    const definition = {
      slug: 'a',
      model: {
        provider: 'custom',
        endpoint: 'https://x.example/v1',
        apiKey: 'sk-literal-0123456789abcdef',
        headers: { authorization: 'Bearer 0123456789abcdefghij' },
      },
      env: { NOT_A_MODEL_SECRET: 'x' },
    };
    assert.deepEqual(
      [...definitionSecrets(definition).entries()],
      [
        ['model.apiKey', 'sk-literal-0123456789abcdef'],
        ['model.headers.authorization', 'Bearer 0123456789abcdefghij'],
      ],
    );
    const byName = { ...definition, model: { ...definition.model, apiKey: 'env:KEY' } };
    assert.deepEqual([...definitionSecrets(byName).keys()], ['model.headers.authorization']);
    assert.equal(definitionSecrets({ slug: 'b', model: 'auto' }).size, 0);
  });

  it('are masked to their first 3 and last 4 characters when long enough, else to …', () => {
    assert.equal(maskSecret('sk-proj-0123456789abcdefwxyz'), 'sk-…wxyz');
    assert.equal(maskSecret('short-key-1234'), '…');
    assert.ok(isMaskedSecret('sk-…wxyz'));
    assert.equal(isMaskedSecret('sk-proj-0123456789abcdefwxyz'), false);
    const masked = maskDefinitionSecrets({
      slug: 'a',
      model: { provider: 'openai', model: 'gpt-x', apiKey: 'sk-proj-0123456789abcdefwxyz' },
    });
    assert.deepEqual(masked.model, { provider: 'openai', model: 'gpt-x', apiKey: 'sk-…wxyz' });
  });

  it('are mapped on a copy, leaving the definition as it was', () => {
    const definition = { model: { provider: 'openai', model: 'gpt-x', apiKey: 'k' } };
    const mapped = mapDefinitionSecrets(definition, (value) => `${value}!`);
    assert.equal(mapped.model.apiKey, 'k!');
    assert.equal(definition.model.apiKey, 'k');
    const same = mapDefinitionSecrets(definition, (value) => value);
    assert.equal(same, definition);
  });
});
