import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressPolicy } from './address-policy.ts';
import { parseCidr, parseCidrList } from './cidr.ts';

describe('AddressPolicy', () => {
  const strict = new AddressPolicy();
  const kindOf = (policy: AddressPolicy, address: string) => {
    const verdict = policy.check(address);
    return verdict.allowed ? 'allowed' : verdict.kind;
  };

  it('refuses loopback, private, link-local, CGNAT, unique-local, unspecified and multicast', () => {
    for (const [address, kind] of [
      ['127.0.0.1', 'loopback'],
      ['127.255.0.9', 'loopback'],
      ['::1', 'loopback'],
      ['10.1.2.3', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.254', 'private'],
      ['192.168.1.1', 'private'],
      ['169.254.1.1', 'link-local'],
      ['fe80::1', 'link-local'],
      ['fe80::1%eth0', 'link-local'],
      ['100.64.0.1', 'shared'],
      ['100.127.255.254', 'shared'],
      ['fc00::1', 'unique-local'],
      ['fd12:3456::1', 'unique-local'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['224.0.0.1', 'multicast'],
      ['ff02::1', 'multicast'],
      ['255.255.255.255', 'reserved'],
      ['not-an-address', 'reserved'],
    ] as const) {
      assert.equal(kindOf(strict, address), kind, address);
    }
  });

  it('refuses the cloud metadata addresses', () => {
    for (const address of [
      '169.254.169.254',
      '100.100.100.200',
      '168.63.129.16',
      'fd00:ec2::254',
    ]) {
      assert.equal(kindOf(strict, address), 'metadata', address);
    }
  });

  it('judges IPv4-mapped, IPv4-compatible and NAT64 IPv6 forms as the IPv4 address they carry', () => {
    for (const [address, kind] of [
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['[::ffff:127.0.0.1]', 'loopback'],
      ['::ffff:10.0.0.1', 'private'],
      ['::ffff:169.254.169.254', 'metadata'],
      ['::127.0.0.1', 'loopback'],
      ['64:ff9b::7f00:1', 'loopback'],
      ['64:ff9b::a9fe:a9fe', 'metadata'],
      ['64:ff9b::c0a8:101', 'private'],
    ] as const) {
      assert.equal(kindOf(strict, address), kind, address);
    }
    assert.equal(kindOf(strict, '::ffff:93.184.216.34'), 'allowed');
    assert.equal(kindOf(strict, '64:ff9b::5db8:d822'), 'allowed');
  });

  it('allows public addresses', () => {
    for (const address of [
      '93.184.216.34',
      '8.8.8.8',
      '172.32.0.1',
      '100.128.0.1',
      '2606:4700::1111',
    ]) {
      assert.equal(kindOf(strict, address), 'allowed', address);
    }
  });

  it('allows what the operator allows, in every form of the address', () => {
    const policy = new AddressPolicy({ allow: ['127.0.0.1/32', '10.0.0.0/8', 'fd00:1::/32'] });
    assert.equal(kindOf(policy, '127.0.0.1'), 'allowed');
    assert.equal(kindOf(policy, '::ffff:127.0.0.1'), 'allowed');
    assert.equal(kindOf(policy, '127.0.0.2'), 'loopback');
    assert.equal(kindOf(policy, '10.200.0.1'), 'allowed');
    assert.equal(kindOf(policy, '192.168.0.1'), 'private');
    assert.equal(kindOf(policy, 'fd00:1::5'), 'allowed');
    assert.equal(kindOf(policy, 'fd00:2::5'), 'unique-local');
  });

  it('opens a metadata address only when it is allowed by itself, not by a wider range', () => {
    const wide = new AddressPolicy({ allow: ['169.254.0.0/16', '0.0.0.0/0', '::/0'] });
    assert.equal(kindOf(wide, '169.254.1.1'), 'allowed');
    assert.equal(kindOf(wide, '169.254.169.254'), 'metadata');
    assert.equal(kindOf(wide, 'fd00:ec2::254'), 'metadata');
    const exact = new AddressPolicy({ allow: ['169.254.169.254/32'] });
    assert.equal(kindOf(exact, '169.254.169.254'), 'allowed');
  });

  it('refuses a malformed allowed range, naming it', () => {
    assert.throws(() => new AddressPolicy({ allow: ['10.0.0.0/33'] }), /"10\.0\.0\.0\/33"/);
    assert.throws(() => new AddressPolicy({ allow: ['localhost'] }), /"localhost"/);
  });
});

describe('parseCidr', () => {
  it('reads ranges and bare addresses', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    assert.deepEqual(parseCidr(' ::1 '), { address: '::1', prefix: 128, family: 'ipv6' });
    assert.deepEqual(
      parseCidrList('127.0.0.1/32, 10.0.0.0/8,').map((c) => `${c.address}/${c.prefix}`),
      ['127.0.0.1/32', '10.0.0.0/8'],
    );
    for (const bad of ['10.0.0.0/', '10.0.0.0/x', '::/129', '300.0.0.0/8', '10.0.0.0/8/8']) {
      assert.throws(() => parseCidr(bad), /is not|prefix length/, bad);
    }
  });
});
