import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { SecretBox } from './secret-box.ts';

const context = 'webhooks.secret:whk_1';

describe('SecretBox (AES-256-GCM)', () => {
  it('seals to a versioned value without the plaintext, a new IV each time, and opens it', () => {
    const box = new SecretBox(randomBytes(32));
    const a = box.seal('whsec_top-secret', context);
    const b = box.seal('whsec_top-secret', context);
    assert.match(a, new RegExp(`^enc:v1:${box.keyId}:[A-Za-z0-9_-]+$`));
    assert.notEqual(a, b);
    assert.equal(a.includes('top-secret'), false);
    assert.equal(box.open(a, context), 'whsec_top-secret');
    assert.equal(box.open(b, context), 'whsec_top-secret');
    assert.ok(SecretBox.isSealed(a));
  });

  it('passes a plaintext value of an older server through', () => {
    const box = new SecretBox(randomBytes(32));
    assert.equal(box.open('whsec_legacy', context), 'whsec_legacy');
    assert.equal(SecretBox.isSealed('whsec_legacy'), false);
  });

  it('refuses another key with secret_key_mismatch naming both key ids, not garbage', () => {
    const box = new SecretBox(randomBytes(32));
    const other = new SecretBox(randomBytes(32));
    const sealed = box.seal('whsec_top-secret', context);
    assert.throws(
      () => other.open(sealed, context),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'secret_key_mismatch');
        assert.match(error.message, new RegExp(`${box.keyId}.*${other.keyId}`));
        assert.match(error.message, /webhooks\.secret/);
        assert.equal(error.message.includes('top-secret'), false);
        return true;
      },
    );
  });

  it('refuses a value moved to another row or altered', () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal('whsec_top-secret', context);
    assert.throws(() => box.open(sealed, 'webhooks.secret:whk_2'), { code: 'secret_key_mismatch' });
    const flipped = `${sealed.slice(0, -2)}${sealed.at(-2) === 'A' ? 'B' : 'A'}${sealed.at(-1)}`;
    assert.throws(() => box.open(flipped, context), { code: 'secret_key_mismatch' });
    assert.throws(() => box.open(`enc:v1:${box.keyId}:`, context), { code: 'secret_key_mismatch' });
  });

  it('wants a 32-byte key', () => {
    assert.throws(() => new SecretBox(randomBytes(16)), { code: 'secret_key_invalid' });
  });
});
