import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maskSecrets } from './secret-mask.ts';

describe('maskSecrets', () => {
  it('replaces each secret by its name, the longer first, and leaves short values alone', () => {
    const secrets = { TOKEN: 'abcd1234', TOKEN_EXTRA: 'abcd1234-extra', PIN: '42' };
    assert.equal(
      maskSecrets('a abcd1234-extra b abcd1234 c 42', secrets),
      'a [TOKEN_EXTRA] b [TOKEN] c 42',
    );
    assert.equal(maskSecrets('nothing here', secrets), 'nothing here');
  });
});
