import assert from 'node:assert/strict';
import { it } from 'node:test';
import { apiScopes } from '@runtools/sdk/api';
import { createStore } from '../store/store.ts';
import { describeEachDatabase } from '../testing/test-databases.ts';
import { ProxyGrants } from './proxy-cookie.ts';

describeEachDatabase('sandbox port grants (the proxy cookie)', ({ open }) => {
  it('grant one port, expire, and end with their key', async () => {
    const store = createStore(await open());
    let now = 1_000_000;
    const grants = new ProxyGrants(
      { apiKeys: store.apiKeys, bootstrapKey: 'k'.repeat(20) },
      () => now,
    );
    const { apiKey, key } = await store.apiKeys.create({ name: 'browser', scopes: apiScopes });
    const grant = grants.issue({ kind: 'api_key', apiKey }, 'sbx_a:3000');
    assert.ok(!grant.includes(key), 'the key is not in the grant');
    assert.equal(Boolean(await grants.verify(grant, 'sbx_a:3000')), true);
    assert.equal(Boolean(await grants.verify(grant, 'sbx_a:3001')), false, 'another port');
    assert.equal(Boolean(await grants.verify(grant, 'sbx_b:3000')), false, 'another sandbox');
    for (const forged of [`${grant}x`, grant.replace(/\.\d+\./, '.99999999999999.'), 'a.b', '']) {
      assert.equal(Boolean(await grants.verify(forged, 'sbx_a:3000')), false, forged);
    }
    // Another process (another secret) does not accept it.
    const other = new ProxyGrants({ apiKeys: store.apiKeys }, () => now);
    assert.equal(Boolean(await other.verify(grant, 'sbx_a:3000')), false);

    now += 13 * 3600 * 1000;
    assert.equal(Boolean(await grants.verify(grant, 'sbx_a:3000')), false, 'expired after 12 h');

    const fresh = grants.issue({ kind: 'api_key', apiKey }, 'sbx_a:3000');
    await store.apiKeys.revoke(apiKey.id);
    assert.equal(Boolean(await grants.verify(fresh, 'sbx_a:3000')), false, 'its key was revoked');

    const bootstrap = grants.issue({ kind: 'bootstrap' }, 'sbx_a:3000');
    assert.equal(Boolean(await grants.verify(bootstrap, 'sbx_a:3000')), true);
  });

  it('grant links open one port once, within a minute, and never pass for a cookie', async () => {
    const store = createStore(await open());
    let now = 1_000_000;
    const grants = new ProxyGrants({ apiKeys: store.apiKeys }, () => now);
    const { apiKey, key } = await store.apiKeys.create({ name: 'dashboard', scopes: apiScopes });
    const principal = { kind: 'api_key' as const, apiKey };

    const link = grants.link(principal, 'sbx_a:3000');
    assert.ok(!link.value.includes(key), 'the key is not in the link');
    assert.equal(link.expiresAt.getTime(), now + 60_000);
    assert.equal(Boolean(await grants.redeem(link.value, 'sbx_a:3001')), false, 'another port');
    assert.equal(Boolean(await grants.verify(link.value, 'sbx_a:3000')), false, 'not a cookie');
    const cookie = grants.issue(principal, 'sbx_a:3000');
    assert.equal(Boolean(await grants.redeem(cookie, 'sbx_a:3000')), false, 'a cookie is no link');
    assert.equal((await grants.redeem(link.value, 'sbx_a:3000'))?.kind, 'api_key');
    assert.equal(Boolean(await grants.redeem(link.value, 'sbx_a:3000')), false, 'opened once');

    const late = grants.link(principal, 'sbx_a:3000');
    now += 61_000;
    assert.equal(Boolean(await grants.redeem(late.value, 'sbx_a:3000')), false, 'expired');

    const revoked = grants.link(principal, 'sbx_a:3000');
    await store.apiKeys.revoke(apiKey.id);
    assert.equal(Boolean(await grants.redeem(revoked.value, 'sbx_a:3000')), false, 'key revoked');
  });
});
