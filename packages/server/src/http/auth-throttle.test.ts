import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { startTestServer, testBootstrapKey } from '../testing/test-server.ts';
import { addressMatcher, defaultAuthThrottle } from './auth-throttle.ts';

/** A clock the test moves. */
function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describeEachDatabase('throttling failed authentications per client address', ({ open }) => {
  const throttled = async (options: { trustedProxies?: string[] } = {}) => {
    const time = clock();
    const server = await startTestServer(await open(), {
      authThrottle: { ...defaultAuthThrottle, ...options, now: time.now },
    });
    return { server, time };
  };

  it('answers 429 with Retry-After after 10 bad keys in a minute, to the right key too', async () => {
    const { server, time } = await throttled();
    await using _ = server;
    for (let i = 0; i < 10; i++) {
      const r = await server.request('GET', '/v1/runtimes', { key: `rtk_guess_${i}` });
      assert.equal(r.status, 401, `guess ${i}`);
      time.advance(1000);
    }
    const refused = await server.request('GET', '/v1/runtimes', { key: 'rtk_guess_10' });
    assert.equal(refused.status, 429);
    const error = (refused.body as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'rate_limited');
    assert.match(error.message, /failed authentications/);
    // The first guess leaves the window 60 s after it was made, 10 s ago.
    assert.equal(refused.headers.get('retry-after'), '50');
    // A guess that succeeded would stand out, so the right key waits as well.
    assert.equal((await server.request('GET', '/v1/runtimes')).status, 429);
    assert.equal((await server.request('GET', '/health', { key: null })).status, 200);
    time.advance(50_000);
    assert.equal((await server.request('GET', '/v1/runtimes')).status, 200);
    // One failure left the window: one more guess is allowed, then it is closed again.
    assert.equal((await server.request('GET', '/v1/runtimes', { key: 'rtk_x' })).status, 401);
    assert.equal((await server.request('GET', '/v1/runtimes', { key: 'rtk_y' })).status, 429);
  });

  it('lets no more than 10 guesses through when they are sent all at once', async () => {
    const { server } = await throttled();
    await using _ = server;
    // Well-formed guesses: each is looked up in the database while the others arrive.
    const statuses = await Promise.all(
      Array.from({ length: 60 }, () =>
        server
          .request('GET', '/v1/runtimes', { key: `rtk_${randomBytes(32).toString('base64url')}` })
          .then((r) => r.status),
      ),
    );
    assert.equal(statuses.filter((s) => s === 401).length, 10);
    assert.equal(statuses.filter((s) => s === 429).length, 50);
  });

  it('does not slow down a burst of requests with a good key', async () => {
    const { server } = await throttled();
    await using _ = server;
    const statuses = await Promise.all(
      Array.from({ length: 40 }, () => server.request('GET', '/v1/runtimes').then((r) => r.status)),
    );
    assert.deepEqual(new Set(statuses), new Set([200]));
  });

  it('counts guesses at the sandbox port proxy, and not requests without a key', async () => {
    const { server } = await throttled();
    await using _ = server;
    for (let i = 0; i < 20; i++) {
      assert.equal((await server.request('GET', '/v1/runtimes', { key: null })).status, 401);
    }
    for (let i = 0; i < 10; i++) {
      const r = await server.request('GET', `/v1/sandboxes/sbx_x/ports/80/?token=rtk_${i}`, {
        key: null,
      });
      assert.equal(r.status, 401);
    }
    assert.equal((await server.request('GET', '/v1/runtimes')).status, 429);
  });

  it('counts keys guessed through a browser sign-in (POST /v1/sessions, the key in the body)', async () => {
    const { server } = await throttled();
    await using _ = server;
    for (let i = 0; i < 10; i++) {
      const r = await server.request('POST', '/v1/sessions', {
        key: null,
        body: { key: `rtk_${randomBytes(32).toString('base64url')}` },
      });
      assert.equal(r.status, 401);
    }
    const refused = await server.request('POST', '/v1/sessions', {
      key: null,
      body: { key: testBootstrapKey },
    });
    assert.equal(refused.status, 429);
  });

  it('ignores X-Forwarded-For unless the peer is a trusted proxy', async () => {
    const direct = await throttled();
    await using _direct = direct.server;
    for (let i = 0; i < 11; i++) {
      const r = await direct.server.request('GET', '/v1/runtimes', {
        key: `rtk_${i}`,
        headers: { 'x-forwarded-for': `203.0.113.${i}` },
      });
      assert.equal(r.status, i < 10 ? 401 : 429);
    }
    const proxied = await throttled({ trustedProxies: ['127.0.0.1', '::1'] });
    await using _proxied = proxied.server;
    for (let i = 0; i < 10; i++) {
      const r = await proxied.server.request('GET', '/v1/runtimes', {
        key: `rtk_${i}`,
        headers: { 'x-forwarded-for': '198.51.100.7, 203.0.113.9' },
      });
      assert.equal(r.status, 401);
    }
    // The client is the nearest address the trusted proxies did not add (203.0.113.9): it is
    // refused; another client behind the same proxy is not.
    const refused = await proxied.server.request('GET', '/v1/runtimes', {
      headers: { 'x-forwarded-for': '198.51.100.7, 203.0.113.9' },
    });
    assert.equal(refused.status, 429);
    const other = await proxied.server.request('GET', '/v1/runtimes', {
      headers: { 'x-forwarded-for': '203.0.113.10' },
    });
    assert.equal(other.status, 200);
  });

  it('is off with authThrottle: false', async () => {
    await using server = await startTestServer(await open(), { authThrottle: false });
    for (let i = 0; i < 15; i++) {
      assert.equal((await server.request('GET', '/v1/runtimes', { key: `rtk_${i}` })).status, 401);
    }
    assert.equal(
      (await server.request('GET', '/v1/runtimes', { key: testBootstrapKey })).status,
      200,
    );
  });
});

describe('trusted proxy addresses', () => {
  it('takes addresses and CIDR ranges of both families and refuses anything else', () => {
    const list = addressMatcher(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8']);
    assert.ok(list.check('10.1.2.3', 'ipv4'));
    assert.ok(list.check('fd12::1', 'ipv6'));
    assert.equal(list.check('192.168.0.1', 'ipv4'), false);
    for (const bad of [
      'localhost',
      '10.0.0.0/33',
      '10.0.0.0/8/1',
      '1.2.3',
      '::1/129',
      '10.0.0.0/x',
    ]) {
      assert.throws(() => addressMatcher([bad]), new RegExp(bad.replace(/[./]/g, '\\$&')));
    }
  });
});
