import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { it } from 'node:test';
import { maxBundleBytes } from '@runtools/sdk/api';
import { describeEachDatabase } from '../../testing/test-databases.ts';
import { startTestServer } from '../../testing/test-server.ts';

const code = 'export default { tools: [] };\n// café\n';
const hash = (bytes: string | Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const octets = { 'content-type': 'application/octet-stream' };

const lookupOrder = {
  custom: 'lookup_order',
  description: 'Looks up an order.',
  inputSchema: { type: 'object', properties: { orderId: { type: 'string' } } },
  secrets: ['ORDERS_API_KEY'],
};
const agent = { slug: 'support-bot', model: 'scripted', tools: ['bash', lookupOrder] };

describeEachDatabase('http /v1/bundles', ({ open }) => {
  it('stores a bundle under the SHA-256 of its bytes, once, and gives it back as it was', async () => {
    await using server = await startTestServer(await open());
    const sha256 = hash(code);
    const put = await server.request('PUT', `/v1/bundles/${sha256}`, {
      raw: code,
      headers: octets,
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const stored = put.body as { sha256: string; size: number; createdAt: string };
    assert.deepEqual([stored.sha256, stored.size], [sha256, Buffer.byteLength(code)]);
    const again = await server.request('PUT', `/v1/bundles/${sha256}`, {
      raw: code,
      headers: octets,
    });
    assert.deepEqual(again.body, stored);
    const got = await fetch(`${server.url}/v1/bundles/${sha256}`, {
      headers: { authorization: 'Bearer test-bootstrap-key-0123456789abcdef' },
    });
    assert.equal(got.status, 200);
    assert.match(String(got.headers.get('content-type')), /^text\/javascript/);
    assert.equal(hash(new Uint8Array(await got.arrayBuffer())), sha256);
  });

  it('refuses a body that is not what its hash names, not text, or too large', async () => {
    await using server = await startTestServer(await open());
    const wrong = await server.request('PUT', `/v1/bundles/${hash('other')}`, {
      raw: code,
      headers: octets,
    });
    assert.equal(wrong.status, 400);
    assert.equal((wrong.body as { error: { code: string } }).error.code, 'bundle_hash_mismatch');
    const binary = new Uint8Array([0xff, 0x00, 0x41]);
    const notText = await server.request('PUT', `/v1/bundles/${hash(binary)}`, {
      raw: binary,
      headers: octets,
    });
    assert.equal((notText.body as { error: { code: string } }).error.code, 'invalid_input');
    const huge = new Uint8Array(maxBundleBytes + 1).fill(0x20);
    const tooLarge = await server.request('PUT', `/v1/bundles/${hash(huge)}`, {
      raw: huge,
      headers: octets,
    });
    assert.equal(tooLarge.status, 413);
    const badName = await server.request('PUT', '/v1/bundles/not-a-hash', {
      raw: code,
      headers: octets,
    });
    assert.equal(badName.status, 400);
    const missing = await server.request('GET', `/v1/bundles/${hash('nothing')}`);
    assert.equal(missing.status, 404);
    assert.equal((missing.body as { error: { code: string } }).error.code, 'bundle_not_found');
  });

  it('needs the deploy scope', async () => {
    await using server = await startTestServer(await open());
    const created = await server.request('POST', '/v1/api-keys', {
      body: { name: 'runs only', scopes: ['run'] },
    });
    const key = (created.body as { key: string }).key;
    const put = await server.request('PUT', `/v1/bundles/${hash(code)}`, {
      raw: code,
      headers: octets,
      key,
    });
    assert.equal(put.status, 403);
  });

  it("refuses a runtime whose custom tools' bundle the server does not have", async () => {
    await using server = await startTestServer(await open());
    const sha256 = hash(code);
    const missing = await server.request('POST', '/v1/runtimes', {
      body: { ...agent, bundle: sha256 },
    });
    assert.equal(missing.status, 404);
    assert.equal((missing.body as { error: { code: string } }).error.code, 'bundle_not_found');
    const noBundle = await server.request('POST', '/v1/runtimes', { body: agent });
    assert.equal(noBundle.status, 400);
    assert.match(JSON.stringify(noBundle.body), /bundle/);
    const coreName = await server.request('POST', '/v1/runtimes', {
      body: { ...agent, tools: [{ ...lookupOrder, custom: 'bash' }], bundle: sha256 },
    });
    assert.equal(coreName.status, 400);
    await server.request('PUT', `/v1/bundles/${sha256}`, { raw: code, headers: octets });
    const created = await server.request('POST', '/v1/runtimes', {
      body: { ...agent, bundle: sha256 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const definition = (created.body as { definition: Record<string, unknown> }).definition;
    assert.deepEqual(definition.tools, ['bash', lookupOrder]);
    assert.equal(definition.bundle, sha256);
  });
});
