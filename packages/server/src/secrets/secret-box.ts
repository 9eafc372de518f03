import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { RunToolsError } from '@runtools/sdk';

/** The version prefix of a sealed value; a value without it is a plaintext one (older servers). */
const prefix = 'enc:v1:';
const ivBytes = 12;
const tagBytes = 16;

/**
 * Encrypts the secrets the database holds (webhook signing secrets, the model keys of runtimes)
 * with AES-256-GCM. A sealed value is `enc:v1:KEYID:` + base64url(iv ‖ tag ‖ ciphertext), with a
 * random 12-byte IV per value. `KEYID` names the key (a hash of it, nothing that helps find it),
 * so an error can say which key a value needs. `context` (the table, field and row, e.g.
 * `webhooks.secret:whk_…`) is authenticated with the value: a sealed value copied to another
 * row or field does not decrypt.
 *
 * @example
 * const box = new SecretBox(randomBytes(32));
 * const sealed = box.seal('whsec_…', 'webhooks.secret:whk_1');
 * box.open(sealed, 'webhooks.secret:whk_1'); // 'whsec_…'
 */
export class SecretBox {
  /** 8 hex digits naming the key (the start of a SHA-256 of it). */
  readonly keyId: string;
  readonly #key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== 32) {
      throw new RunToolsError(
        'secret_key_invalid',
        `A secret key must be 32 bytes, got ${key.length}.`,
      );
    }
    this.#key = Buffer.from(key);
    this.keyId = createHash('sha256')
      .update('runtools secret key id\0')
      .update(this.#key)
      .digest('hex')
      .slice(0, 8);
  }

  /** True for a value `seal` made (with any key). */
  static isSealed(value: string): boolean {
    return value.startsWith(prefix);
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const sealed = Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url');
    return `${prefix}${this.keyId}:${sealed}`;
  }

  /**
   * The plaintext of a sealed value; a value that is not sealed (stored by an older server) is
   * returned as it is. A value sealed with another key, or altered, is a `secret_key_mismatch`
   * naming the field and both keys' ids, never garbage.
   */
  open(value: string, context: string): string {
    if (!SecretBox.isSealed(value)) return value;
    const rest = value.slice(prefix.length);
    const colon = rest.indexOf(':');
    const keyId = rest.slice(0, colon);
    const data = Buffer.from(rest.slice(colon + 1), 'base64url');
    if (colon !== 8 || data.length < ivBytes + tagBytes) throw this.#unreadable(context, keyId);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, data.subarray(0, ivBytes));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(data.subarray(ivBytes, ivBytes + tagBytes));
      return Buffer.concat([
        decipher.update(data.subarray(ivBytes + tagBytes)),
        decipher.final(),
      ]).toString('utf8');
    } catch (error) {
      throw this.#unreadable(context, keyId, error);
    }
  }

  #unreadable(context: string, keyId: string, cause?: unknown): RunToolsError {
    const field = context.split(':')[0];
    const why =
      keyId === this.keyId
        ? `it does not authenticate with this server's key (id ${this.keyId}): it was altered or moved`
        : `it was encrypted with the key whose id is ${keyId || '(none)'}, and this server's key is ${this.keyId}`;
    return new RunToolsError('secret_key_mismatch', `Cannot decrypt ${field}: ${why}.`, {
      ...(cause === undefined ? {} : { cause }),
      details: { field, keyId: this.keyId, sealedWith: keyId },
    });
  }
}
