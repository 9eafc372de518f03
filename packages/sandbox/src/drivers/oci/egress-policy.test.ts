import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cidrWithin,
  normalizeCidr,
  sandboxChainRules,
  usableNameservers,
} from './egress-policy.ts';

const targets = (rules: string[], verdict: string) =>
  rules
    .filter((r) => r.includes(`-j ${verdict}`) && !r.includes('--dport'))
    .map((r) => /-d (\S+)/.exec(r)?.[1] ?? 'anything');

describe('egress policy', () => {
  it('allows the internet but no private, CGNAT, link-local, loopback or metadata range', () => {
    const rules = sandboxChainRules('C', { dns: [] });
    const rejected = targets(rules, 'REJECT');
    for (const range of [
      '10.0.0.0/8',
      '172.16.0.0/12',
      '192.168.0.0/16',
      '100.64.0.0/10',
      '169.254.0.0/16',
      '127.0.0.0/8',
      '168.63.129.16/32',
    ]) {
      assert.ok(rejected.includes(range), `${range} is refused`);
    }
    assert.ok(cidrWithin('100.100.100.200', '100.64.0.0/10'), "Alibaba's metadata is CGNAT");
    // The internet comes after every refusal, then everything else is refused.
    assert.ok(
      rules.indexOf('-A C -d 0.0.0.0/0 -j ACCEPT') >
        rules.indexOf(rules.find((r) => r.includes('10.0.0.0/8')) ?? ''),
    );
    assert.equal(rules.at(-1), '-A C -j REJECT --reject-with icmp-admin-prohibited');
  });

  it('opens a private range only when allowOut names it', () => {
    const rules = sandboxChainRules('C', { allowOut: ['10.1.2.0/24', '0.0.0.0/0'], dns: [] });
    const firstReject = rules.findIndex((r) => r.includes('REJECT'));
    assert.ok(rules.indexOf('-A C -d 10.1.2.0/24 -j ACCEPT') < firstReject, 'opened first');
    assert.ok(rules.indexOf('-A C -d 0.0.0.0/0 -j ACCEPT') > firstReject, '0/0 opens no private');
  });

  it('refuses any source but the sandbox address first', () => {
    const rules = sandboxChainRules('C', { dns: [], source: '10.204.0.6' });
    assert.equal(rules[1], '-A C ! -s 10.204.0.6/32 -j REJECT --reject-with icmp-admin-prohibited');
  });

  it('allows DNS to the resolvers on port 53 only, whatever allowOut says', () => {
    const rules = sandboxChainRules('C', { allowOut: ['203.0.113.0/24'], dns: ['10.0.0.53'] });
    assert.deepEqual(rules.slice(1, 3), [
      '-A C -d 10.0.0.53/32 -p udp --dport 53 -j ACCEPT',
      '-A C -d 10.0.0.53/32 -p tcp --dport 53 -j ACCEPT',
    ]);
  });

  it('compares and normalizes CIDRs', () => {
    assert.equal(normalizeCidr('10.1.2.3/8'), '10.0.0.0/8');
    assert.equal(normalizeCidr('1.2.3.4'), '1.2.3.4/32');
    assert.ok(cidrWithin('192.168.5.0/24', '192.168.0.0/16'));
    assert.ok(!cidrWithin('10.0.0.0/7', '10.0.0.0/8'));
    assert.ok(!cidrWithin('0.0.0.0/0', '10.0.0.0/8'));
    assert.throws(() => normalizeCidr('10.0.0.300/8'), TypeError);
  });

  it('takes IPv4 name servers that are not loopback from resolv.conf', () => {
    const text = 'search x\nnameserver 127.0.0.53\nnameserver ::1\nnameserver 10.255.255.53\n';
    assert.deepEqual(usableNameservers(text), ['10.255.255.53']);
  });
});
