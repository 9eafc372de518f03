import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { AddressPolicy } from './address-policy.ts';
import { AddressRefusedError } from './address-refused-error.ts';
import type { HostLookup } from './checked-lookup.ts';
import { createPinnedFetch } from './pinned-fetch.ts';

/** A listener on 127.0.0.1 that records every request; dispose of it to close it. */
async function startListener(answer: (path: string) => { status: number; location?: string }) {
  const seen: Array<{ path: string; headers: IncomingHttpHeaders }> = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '/', headers: req.headers });
    const { status, location } = answer(req.url ?? '/');
    res.writeHead(status, location ? { location } : {}).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    seen,
    [Symbol.asyncDispose]: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A resolver that knows only the names given (what a hostile DNS server could answer). */
const fakeDns =
  (names: Record<string, string[] | (() => string[])>): HostLookup =>
  async (hostname) => {
    const entry = names[hostname];
    if (entry === undefined) {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    }
    const addresses = typeof entry === 'function' ? entry() : entry;
    return addresses.map(
      (address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 }),
    );
  };

const refusal = (error: unknown) => {
  assert.ok(error instanceof AddressRefusedError, `expected a refusal, got ${String(error)}`);
  return true;
};

describe('createPinnedFetch', () => {
  it('refuses a listener on 127.0.0.1, which sees nothing; allows it when the operator does', async () => {
    await using listener = await startListener(() => ({ status: 204 }));
    const url = `http://127.0.0.1:${listener.port}/hook`;
    const strict = createPinnedFetch({ policy: new AddressPolicy() });
    await assert.rejects(strict(url, { method: 'POST', body: 'x' }), refusal);
    assert.equal(listener.seen.length, 0);

    const allowed = createPinnedFetch({ policy: new AddressPolicy({ allow: ['127.0.0.1/32'] }) });
    const response = await allowed(url, { method: 'POST', body: 'x' });
    assert.equal(response.status, 204);
    assert.equal(listener.seen.length, 1);
    await allowed.close();
  });

  it('refuses the IPv6 forms of loopback: [::1] and [::ffff:127.0.0.1]', async () => {
    await using listener = await startListener(() => ({ status: 204 }));
    const strict = createPinnedFetch({ policy: new AddressPolicy() });
    for (const host of ['[::1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::127.0.0.1]']) {
      await assert.rejects(strict(`http://${host}:${listener.port}/`), refusal, host);
    }
    // Other spellings of 127.0.0.1 that URLs accept.
    for (const host of ['2130706433', '0x7f.1', '127.1']) {
      await assert.rejects(strict(`http://${host}:${listener.port}/`), refusal, host);
    }
    assert.equal(listener.seen.length, 0);
  });

  it('refuses names that resolve to loopback: localhost, and any name a resolver points there', async () => {
    await using listener = await startListener(() => ({ status: 204 }));
    const strict = createPinnedFetch({ policy: new AddressPolicy() });
    await assert.rejects(strict(`http://localhost:${listener.port}/`), refusal);
    const hostile = createPinnedFetch({
      policy: new AddressPolicy(),
      lookup: fakeDns({
        'hooks.example.test': ['127.0.0.1'],
        // One public answer among them does not let the private one through.
        'mixed.example.test': ['93.184.216.34', '127.0.0.1'],
        'metadata.example.test': ['169.254.169.254'],
      }),
    });
    for (const name of ['hooks', 'mixed', 'metadata']) {
      await assert.rejects(hostile(`http://${name}.example.test:${listener.port}/`), refusal, name);
    }
    assert.equal(listener.seen.length, 0);
  });

  it('connects to the address it checked, keeping the URL host as Host', async () => {
    await using listener = await startListener(() => ({ status: 200 }));
    const pinned = createPinnedFetch({
      policy: new AddressPolicy({ allow: ['127.0.0.1/32'] }),
      lookup: fakeDns({ 'api.example.test': ['127.0.0.1'] }),
    });
    const response = await pinned(`http://api.example.test:${listener.port}/v1`);
    assert.equal(await response.text(), 'ok');
    assert.equal(listener.seen[0]?.headers.host, `api.example.test:${listener.port}`);
    await pinned.close();
  });

  it('checks every new connection again: a name that rebinds to a forbidden address is refused', async () => {
    await using listener = await startListener(() => ({ status: 204 }));
    const answers = [['127.0.0.1'], ['127.0.0.2']];
    const pinned = createPinnedFetch({
      policy: new AddressPolicy({ allow: ['127.0.0.1/32'] }),
      lookup: fakeDns({ 'rebind.example.test': () => answers.shift() ?? ['127.0.0.2'] }),
    });
    const url = `http://rebind.example.test:${listener.port}/`;
    assert.equal((await pinned(url)).status, 204);
    await pinned.close(); // the next request needs a new connection, hence a new lookup
    await assert.rejects(pinned(url), refusal);
    assert.equal(listener.seen.length, 1);
  });

  it('checks the target of a redirect it follows', async () => {
    await using target = await startListener(() => ({ status: 200 }));
    await using redirecting = await startListener(() => ({
      status: 302,
      location: `http://localhost:${target.port}/internal`,
    }));
    const pinned = createPinnedFetch({
      policy: new AddressPolicy({ allow: ['127.0.0.1/32'] }),
      lookup: fakeDns({ 'public.example.test': ['127.0.0.1'], localhost: ['127.0.0.2'] }),
    });
    await assert.rejects(pinned(`http://public.example.test:${redirecting.port}/`), refusal);
    assert.equal(redirecting.seen.length, 1);
    assert.equal(target.seen.length, 0);
    await pinned.close();
  });

  it('fetches only http and https URLs', async () => {
    const pinned = createPinnedFetch({ policy: new AddressPolicy() });
    await assert.rejects(pinned('file:///etc/passwd'), /Only http and https/);
  });
});
