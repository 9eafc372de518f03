import { readFile, writeFile } from 'node:fs/promises';
import { RuntimeError } from '../../errors.ts';
import { run } from './command.ts';

/**
 * Egress networking: a named network namespace per sandbox, joined to the host by a veth pair
 * with a /30 from 10.203.0.0/16, NAT'd out. The host's INPUT chain drops anything new from a
 * sandbox (a sandbox must not reach the host's own services, the RunTools API included) and the
 * FORWARD chain allows only the sandbox's allowlist (default: anywhere but other sandboxes and
 * link-local metadata addresses).
 */
export const SANDBOX_SUBNET = '10.203.0.0/16';
const FWD_CHAIN = 'RUNTOOLS-FWD';
const IN_CHAIN = 'RUNTOOLS-IN';

export interface EgressNetwork {
  index: number;
  netns: string;
  hostIf: string;
  hostIp: string;
  sandboxIp: string;
}

export function egressFor(index: number): EgressNetwork {
  const base = (index << 2) >>> 0;
  const b3 = (base >> 8) & 0xff;
  const b4 = base & 0xff;
  return {
    index,
    netns: `rt-n${index}`,
    hostIf: `rtv${index}`,
    hostIp: `10.203.${b3}.${b4 + 1}`,
    sandboxIp: `10.203.${b3}.${b4 + 2}`,
  };
}

export const MAX_EGRESS = 16384;

let hostPrepared: Promise<void> | null = null;

/** Host-wide rules, once per process: forwarding on, chains and the NAT rule in place. */
function prepareHost(): Promise<void> {
  hostPrepared ??= (async () => {
    await writeFile('/proc/sys/net/ipv4/ip_forward', '1');
    for (const [table, chain, parent, rule] of [
      ['filter', FWD_CHAIN, 'FORWARD', ['-j', FWD_CHAIN]],
      ['filter', IN_CHAIN, 'INPUT', ['-j', IN_CHAIN]],
    ] as const) {
      await run('iptables', ['-t', table, '-N', chain]); // exists already: fine
      const has = await run('iptables', ['-t', table, '-C', parent, ...rule]);
      if (has.code !== 0) await ipt(['-t', table, '-I', parent, '1', ...rule]);
    }
    const rules: string[][] = [
      [
        '-t',
        'filter',
        IN_CHAIN,
        '-i',
        'rtv+',
        '-m',
        'conntrack',
        '--ctstate',
        'ESTABLISHED,RELATED',
        '-j',
        'ACCEPT',
      ],
      ['-t', 'filter', IN_CHAIN, '-i', 'rtv+', '-j', 'DROP'],
      [
        '-t',
        'filter',
        FWD_CHAIN,
        '-o',
        'rtv+',
        '-m',
        'conntrack',
        '--ctstate',
        'ESTABLISHED,RELATED',
        '-j',
        'ACCEPT',
      ],
      [
        '-t',
        'nat',
        'POSTROUTING',
        '-s',
        SANDBOX_SUBNET,
        '!',
        '-d',
        SANDBOX_SUBNET,
        '-j',
        'MASQUERADE',
      ],
    ];
    for (const [t, table, chain, ...spec] of rules as [string, string, string, ...string[]][]) {
      const has = await run('iptables', [t, table, '-C', chain, ...spec]);
      if (has.code !== 0) await ipt([t, table, '-A', chain, ...spec]);
    }
  })().catch((err) => {
    hostPrepared = null;
    throw err;
  });
  return hostPrepared;
}

export async function setupEgress(
  net: EgressNetwork,
  allowOut: string[] | undefined,
): Promise<void> {
  await prepareHost();
  const peer = `rtp${net.index}`;
  await ipBatch([
    `netns add ${net.netns}`,
    `link add ${net.hostIf} type veth peer name ${peer} netns ${net.netns}`,
    `addr add ${net.hostIp}/30 dev ${net.hostIf}`,
    `link set ${net.hostIf} up`,
  ]);
  await ipBatch(
    [
      'link set lo up',
      `link set ${peer} name eth0`,
      `addr add ${net.sandboxIp}/30 dev eth0`,
      'link set eth0 up',
      `route add default via ${net.hostIp}`,
    ],
    net.netns,
  );
  const chain = `RT-${net.index}`;
  const allow = allowOut?.length ? allowOut : ['0.0.0.0/0'];
  const lines = [
    '*filter',
    `:${chain} - [0:0]`,
    `-A ${chain} -d ${SANDBOX_SUBNET} -j DROP`,
    `-A ${chain} -d 169.254.0.0/16 -j DROP`,
    ...allow.map((cidr) => `-A ${chain} -d ${cidr} -j ACCEPT`),
    `-A ${chain} -j DROP`,
    `-A ${FWD_CHAIN} -i ${net.hostIf} -j ${chain}`,
    'COMMIT',
    '',
  ];
  await restore(lines.join('\n'));
}

export async function teardownEgress(net: EgressNetwork): Promise<void> {
  const chain = `RT-${net.index}`;
  await restore(
    ['*filter', `-D ${FWD_CHAIN} -i ${net.hostIf} -j ${chain}`, 'COMMIT', ''].join('\n'),
  ).catch(() => {});
  await restore(['*filter', `-F ${chain}`, `-X ${chain}`, 'COMMIT', ''].join('\n')).catch(() => {});
  await run('ip', ['link', 'del', net.hostIf]);
  await run('ip', ['netns', 'del', net.netns]);
}

/** The host's upstream name servers (not a loopback resolver, which a sandbox cannot reach). */
export async function sandboxResolvConf(): Promise<string> {
  const text = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  const servers = text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w[0] === 'nameserver' && w[1] && !w[1].startsWith('127.') && w[1] !== '::1')
    .map((w) => `nameserver ${w[1]}`);
  return `${(servers.length ? servers : ['nameserver 1.1.1.1']).join('\n')}\n`;
}

async function ipBatch(lines: string[], netns?: string): Promise<void> {
  const args = [...(netns ? ['-n', netns] : []), '-batch', '-'];
  const r = await run('ip', args, { input: `${lines.join('\n')}\n` });
  if (r.code !== 0) throw new RuntimeError('network setup (ip)', r.stderr, { lines });
}

async function ipt(args: string[]): Promise<void> {
  const r = await run('iptables', args);
  if (r.code !== 0) throw new RuntimeError('network setup (iptables)', r.stderr, { args });
}

async function restore(rules: string): Promise<void> {
  const r = await run('iptables-restore', ['--noflush'], { input: rules });
  if (r.code !== 0) throw new RuntimeError('network setup (iptables-restore)', r.stderr);
}
