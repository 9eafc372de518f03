import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { generateWebhookSecret, signWebhook, verifyWebhook } from './webhook-verify.ts';

describe('verifyWebhook', () => {
  const secret = generateWebhookSecret();
  const id = 'msg_1';
  const now = 1_700_000_000_000;
  const timestamp = now / 1000;
  const body = '{"type":"run.completed","data":{"runId":"run_1"}}';
  const headers = (signature = signWebhook({ id, timestamp, body, secret })) => ({
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature,
  });
  const rejects = (input: Partial<Parameters<typeof verifyWebhook>[0]>, message: RegExp) =>
    assert.throws(
      () => verifyWebhook({ payload: body, headers: headers(), secret, now, ...input }),
      {
        name: 'RunToolsError',
        code: 'webhook_invalid',
        message,
      },
    );

  it('generates whsec_ secrets of 24 random bytes', () => {
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{32}$/);
    assert.equal(Buffer.from(secret.slice(6), 'base64').length, 24);
    assert.notEqual(generateWebhookSecret(), secret);
  });

  it('signs HMAC-SHA256 of id.timestamp.body under the decoded secret', () => {
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key)
      .update(`${id}.${timestamp}.${body}`)
      .digest('base64');
    assert.equal(signWebhook({ id, timestamp, body, secret }), `v1,${expected}`);
  });

  it('returns the parsed payload for a valid signature, from a Headers or a plain object', () => {
    const parsed = { type: 'run.completed', data: { runId: 'run_1' } };
    assert.deepEqual(verifyWebhook({ payload: body, headers: headers(), secret, now }), parsed);
    assert.deepEqual(
      verifyWebhook({ payload: Buffer.from(body), headers: new Headers(headers()), secret, now }),
      parsed,
    );
  });

  it('accepts any matching entry of a space-separated signature list (secret rotation)', () => {
    const old = signWebhook({ id, timestamp, body, secret: generateWebhookSecret() });
    const current = signWebhook({ id, timestamp, body, secret });
    assert.ok(verifyWebhook({ payload: body, headers: headers(`${old} ${current}`), secret, now }));
    rejects({ headers: headers(`v1a,${current.slice(3)} ${old}`) }, /No webhook-signature/);
  });

  it('rejects missing headers, tampered bodies, wrong secrets and bad timestamps', () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      rejects({ headers: { ...headers(), [name]: undefined } }, new RegExp(`Missing ${name}`));
    }
    rejects({ payload: body.replace('run_1', 'run_2') }, /No webhook-signature entry matches/);
    rejects({ secret: generateWebhookSecret() }, /No webhook-signature entry matches/);
    rejects({ headers: { ...headers(), 'webhook-timestamp': '17e8' } }, /not a Unix time/);
    rejects({ now: now + 301_000 }, /301 s old, more than the 300 s tolerance/);
    rejects({ now: now - 301_000 }, /301 s in the future/);
    assert.ok(verifyWebhook({ payload: body, headers: headers(), secret, now: now + 299_000 }));
    assert.ok(
      verifyWebhook({
        payload: body,
        headers: headers(),
        secret,
        now: now + 3_600_000,
        toleranceSeconds: 7200,
      }),
    );
  });
});
