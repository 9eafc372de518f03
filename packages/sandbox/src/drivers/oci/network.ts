import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RuntimeError, SandboxError } from '../../errors.ts';
import { runCommand } from '../../host/run-command.ts';
import { sandboxChainRules, usableNameservers } from './egress-policy.ts';
import { EGRESS_CHAIN, forgetHostSetup, prepareHost } from './host-firewall.ts';

/**
 * Egress networking: the sandbox's own network namespace (made by runc, owned by the sandbox's
 * user namespace, so CRIU can checkpoint it) joined to the host by a veth pair with a /30 from
 * 10.204.0.0/16, NAT'd out. The sandbox has no CAP_NET_ADMIN or CAP_NET_RAW: its root cannot
 * change its addresses, routes, sysctls or firewall.
 *
 * - Indexes are host-wide: an index is claimed by creating `/run/runtools/net/<index>`
 *   exclusively, holding the owner (the sandbox's directory), so engines on one host (two dev
 *   projects, a server) never collide; teardown and restore touch only a claim that names them.
 * - No IPv6: disabled on both ends of the veth (and for any interface later made in the sandbox's
 *   namespace; its loopback keeps ::1), and ip6tables drops whatever still names a sandbox link.
 * - IPv4 filter, following Docker's DOCKER-USER convention: FORWARD jumps first to
 *   `RUNTOOLS-USER` (the operator's; RunTools creates it empty and never changes it), then to
 *   `RUNTOOLS-FORWARD`, which concerns sandbox links only and returns everything else. New
 *   connections to a sandbox are dropped (from the host's own processes too); a sandbox's own
 *   connections go through its chain (see `egress-policy.ts`); to the host itself only DNS to its
 *   resolvers passes, and only as far as the operator's INPUT rules allow.
 *
 * A pause loses the namespace's interfaces (runc has CRIU restore it empty): runc's hook
 * (`egressHook`) joins it to the host again before CRIU restores its sockets, at the same index
 * and addresses while its claim is still its own. Host-wide rules: `host-firewall.ts`.
 */
export const SANDBOX_SUBNET = '10.204.0.0/16';
export const MAX_EGRESS = 16384;
const NETNS_PREFIX = 'rtsbx-';
const IF_PREFIX = 'rtsbx';
/** Claims of indexes, one file each; /run is emptied by a reboot, as the links are. */
export const CLAIM_DIR = '/run/runtools/net';
const NETNS_DIR = '/run/netns';

export interface EgressNetwork {
  index: number;
  hostIf: string;
  hostIp: string;
  sandboxIp: string;
  /** A named namespace (`/run/netns/<netns>`), for networks not inside a sandbox (builds). */
  netns?: string;
  /** The resolvers in the sandbox's resolv.conf, the only host-side DNS it may use. */
  dns?: string[];
  /**
   * Addresses the sandbox had before a host reboot moved it to another /30: kept on its eth0 so
   * that CRIU can restore sockets bound to them (their traffic is refused: not its address).
   */
  formerIps?: string[];
}

export function egressFor(index: number, dns?: string[]): EgressNetwork & { netns: string } {
  const base = (index << 2) >>> 0;
  const b3 = (base >> 8) & 0xff;
  const b4 = base & 0xff;
  return {
    index,
    netns: `${NETNS_PREFIX}${index}`,
    hostIf: `${IF_PREFIX}${index}`,
    hostIp: `10.204.${b3}.${b4 + 1}`,
    sandboxIp: `10.204.${b3}.${b4 + 2}`,
    ...(dns ? { dns } : {}),
  };
}

/** The sandbox's per-sandbox chain. */
function chainOf(net: EgressNetwork): string {
  return `RUNTOOLS-SBX-${net.index}`;
}

/**
 * Claims the lowest free index host-wide for `owner` (the sandbox's directory); `prefer` is tried
 * first. Nothing else on the host changes until `prepareEgress` and the hook (`egressHook`).
 */
export async function claimEgress(
  owner: string,
  { prefer, dns }: { prefer?: number; dns?: string[] } = {},
): Promise<EgressNetwork> {
  await mkdir(CLAIM_DIR, { recursive: true, mode: 0o700 });
  const resolvers = dns ?? (await hostResolvers());
  const taken = new Set(await readdir(CLAIM_DIR));
  const order = prefer ? [prefer] : [];
  for (let i = 1; i < MAX_EGRESS; i++) if (i !== prefer) order.push(i);
  for (const index of order) {
    if (taken.has(String(index))) continue;
    if (await tryClaim(index, owner)) {
      const { netns: _, ...net } = egressFor(index, resolvers);
      return net;
    }
  }
  throw new SandboxError(
    'sandbox_limit',
    `Cannot give the sandbox a network: all ${MAX_EGRESS - 1} egress networks of this host are in use (claims in ${CLAIM_DIR}). Delete egress sandboxes (a paused one keeps its network), or create this one with network mode "none".`,
    { details: { owner } },
  );
}

/** Creates the claim file exclusively; false when another sandbox holds the index. */
async function tryClaim(index: number, owner: string): Promise<boolean> {
  try {
    await writeFile(join(CLAIM_DIR, String(index)), owner, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new RuntimeError('network setup (claim)', (err as Error).message, { index });
  }
}

async function claimedBy(net: EgressNetwork, owner: string): Promise<boolean> {
  const text = await readFile(join(CLAIM_DIR, String(net.index)), 'utf8').catch(() => null);
  return text === owner;
}

/**
 * The host-side rules of a sandbox's network (they need no process yet): host-wide setup once per
 * process, then the sandbox's chain. `again` (a restore) when they may be there already.
 */
export async function prepareEgress(
  net: EgressNetwork,
  allowOut: string[] | undefined,
  { again = false } = {},
): Promise<void> {
  await prepareHost({ subnet: SANDBOX_SUBNET, links: `${IF_PREFIX}+`, dns: hostResolvers });
  await sandboxChain(net, allowOut, again);
}

/**
 * The OCI hook that joins the sandbox's namespace to the host, run by runc once the namespaces
 * exist and before anything runs in them: at create, and at restore before CRIU brings back the
 * sandbox's sockets (a TCP connection to the outside cannot be restored without its address and
 * route). runc runs `createRuntime` hooks at CRIU's `setup-namespaces` too.
 */
export function egressHook(net: EgressNetwork): {
  path: string;
  args: string[];
  env: string[];
  timeout: number;
} {
  return {
    path: '/bin/sh',
    args: ['sh', '-c', linkScript(net)],
    // runc gives a hook only the environment named here.
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    timeout: 30,
  };
}

/**
 * Joins the namespace at `netnsPath` to the host (`prepareEgress` and the hook's work, for a
 * namespace that is not a sandbox's).
 */
export async function attachEgress(
  net: EgressNetwork,
  netnsPath: string,
  allowOut: string[] | undefined,
): Promise<void> {
  await prepareEgress(net, allowOut);
  const r = await runCommand('sh', ['-c', linkScript(net), 'sh', netnsPath]);
  if (r.code !== 0) throw new RuntimeError('network setup (links)', r.stderr, { ...net });
}

/**
 * The veth pair, as a shell script: the namespace is `$1`, or that of the pid in the OCI state
 * on stdin (a hook). Inside the namespace IPv6 goes off for every interface made from then on,
 * and the pair is made there (eth0 inherits it), its other end put into the script's own
 * namespace, where it is still down and so without an IPv6 address when IPv6 goes off for it.
 * What is left of the pair of the namespace before a pause (the kernel removes it lazily) goes.
 */
function linkScript(net: EgressNetwork): string {
  const inside = [
    `link add eth0 type veth peer name ${net.hostIf} netns $$`,
    'link set lo up',
    `addr add ${net.sandboxIp}/30 dev eth0`,
    ...(net.formerIps ?? []).map((ip) => `addr add ${ip}/32 dev eth0`),
    'link set eth0 up',
    `route add default via ${net.hostIp} src ${net.sandboxIp}`,
  ];
  const v6 = `/proc/sys/net/ipv6/conf/${net.hostIf}/disable_ipv6`;
  return [
    'set -e',
    'if [ -n "$1" ]; then ns=$1; else',
    `  pid=$(tr -d ' \\n' | sed -n 's/.*"pid":\\([0-9][0-9]*\\).*/\\1/p')`,
    '  ns=/proc/$pid/ns/net',
    'fi',
    `ip link del ${net.hostIf} 2>/dev/null || true`,
    `nsenter --net="$ns" sh -ec 'if [ -d /proc/sys/net/ipv6 ]; then echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; fi; exec ip -batch -' <<EOF`,
    ...inside,
    'EOF',
    `if [ -e ${v6} ]; then echo 1 > ${v6}; fi`,
    'ip -batch - <<EOF',
    `addr add ${net.hostIp}/30 dev ${net.hostIf}`,
    `link set dev ${net.hostIf} up`,
    'EOF',
    '',
  ].join('\n');
}

/** The sandbox's chain and the jump to it; `again` when they may be there already. */
async function sandboxChain(
  net: EgressNetwork,
  allowOut: string[] | undefined,
  again: boolean,
): Promise<void> {
  const chain = chainOf(net);
  const jump = `${EGRESS_CHAIN} -i ${net.hostIf} -j ${chain}`;
  // Declaring the chain empties it if it is there; the jump is added once.
  const rules = (withJump: boolean) =>
    [
      '*filter',
      ...sandboxChainRules(chain, { allowOut, dns: net.dns ?? [], source: net.sandboxIp }),
      ...(withJump ? [`-A ${jump}`] : []),
      'COMMIT',
      '',
    ].join('\n');
  const has = again && (await runCommand('iptables', ['-w', '-C', ...jump.split(' ')])).code === 0;
  const first = await runCommand('iptables-restore', ['-w', '--noflush'], { input: rules(!has) });
  if (first.code === 0) return;
  // The host's rules may have been flushed since this process set them up (a firewall reload).
  forgetHostSetup();
  await prepareHost({ subnet: SANDBOX_SUBNET, links: `${IF_PREFIX}+`, dns: hostResolvers });
  await restore('iptables-restore', rules(true));
}

/**
 * The claim of a sandbox being restored: its own if it still holds it (a pause keeps it), else a
 * new one, at the same index when that is free (after a host reboot it may have gone to another
 * sandbox).
 */
export async function reclaimEgress(net: EgressNetwork, owner: string): Promise<EgressNetwork> {
  if (!isLegacy(net) && (await claimedBy(net, owner))) return net;
  if (isLegacy(net)) await teardownLegacy(net);
  const claimed = await claimEgress(owner, {
    prefer: isLegacy(net) ? undefined : net.index,
    dns: net.dns,
  });
  const formerIps = [...(net.formerIps ?? []), net.sandboxIp].filter(
    (ip, i, all) => ip !== claimed.sandboxIp && all.indexOf(ip) === i,
  );
  return { ...claimed, formerIps };
}

/** Removes the network (chain, links, named namespace) and its claim, if the claim is `owner`'s. */
export async function teardownEgress(net: EgressNetwork, owner = net.netns ?? ''): Promise<void> {
  if (isLegacy(net)) return teardownLegacy(net);
  if (!(await claimedBy(net, owner))) return;
  await detach(net);
  await rm(join(CLAIM_DIR, String(net.index)), { force: true });
}

/**
 * A network in a named namespace of its own (`/run/netns/<netns>`), for what is not a sandbox (a
 * template build): claims an index (exactly `net.index` when given a network, which then names
 * its owner), makes the namespace and attaches it. Undoes its work when it fails.
 */
export async function setupEgress(
  owner: string | EgressNetwork,
  allowOut: string[] | undefined,
): Promise<EgressNetwork & { netns: string }> {
  let net: EgressNetwork;
  let by: string;
  if (typeof owner === 'object') {
    by = egressFor(owner.index).netns;
    await mkdir(CLAIM_DIR, { recursive: true, mode: 0o700 });
    if (!(await tryClaim(owner.index, by))) {
      throw new RuntimeError('network setup (claim)', `index ${owner.index} is taken`);
    }
    net = egressFor(owner.index, owner.dns ?? (await hostResolvers()));
  } else {
    by = owner;
    net = await claimEgress(owner);
  }
  const named = { ...net, netns: egressFor(net.index).netns };
  try {
    const add = await runCommand('ip', ['netns', 'add', named.netns]);
    if (add.code !== 0) throw new RuntimeError('network setup (ip netns add)', add.stderr);
    await attachEgress(named, `${NETNS_DIR}/${named.netns}`, allowOut);
    return named;
  } catch (err) {
    await teardownEgress(named, by);
    throw err;
  }
}

/** The resolv.conf of an egress sandbox. */
export async function sandboxResolvConf(net?: EgressNetwork): Promise<string> {
  const servers = net?.dns ?? (await hostResolvers());
  return `${servers.map((ip) => `nameserver ${ip}`).join('\n')}\n`;
}

/**
 * The host's upstream name servers a sandbox can reach: those of /etc/resolv.conf, or behind a
 * loopback stub (systemd-resolved) the ones it forwards to; a public resolver when there are none.
 */
async function hostResolvers(): Promise<string[]> {
  for (const file of ['/etc/resolv.conf', '/run/systemd/resolve/resolv.conf']) {
    const servers = usableNameservers(await readFile(file, 'utf8').catch(() => ''));
    if (servers.length) return servers.slice(0, 3);
  }
  return ['1.1.1.1'];
}

/** Removes the chain first, then the links and a named namespace. */
async function detach(net: EgressNetwork): Promise<void> {
  const chain = chainOf(net);
  const jump = `${EGRESS_CHAIN} -i ${net.hostIf} -j ${chain}`;
  const all = await runCommand('iptables-restore', ['-w', '--noflush'], {
    input: ['*filter', `-D ${jump}`, `-F ${chain}`, `-X ${chain}`, 'COMMIT', ''].join('\n'),
  });
  if (all.code !== 0) {
    // Part of it was never made (a failed setup): remove what is there.
    await runCommand('iptables', ['-w', '-D', ...jump.split(' ')]);
    await runCommand('iptables', ['-w', '-F', chain]);
    await runCommand('iptables', ['-w', '-X', chain]);
  }
  // The link first: deleting a namespace frees the pair only later, asynchronously.
  await runCommand('ip', ['-force', '-batch', '-'], {
    input: `link del ${net.hostIf}\n${net.netns ? `netns del ${net.netns}\n` : ''}`,
  });
}

function isLegacy(net: EgressNetwork): boolean {
  return !net.hostIf.startsWith(IF_PREFIX);
}

/**
 * A network made before indexes were host-wide (10.203.0.0/16, `rt-nN`, chains `RUNTOOLS-FWD` and
 * `RT-N`), removed the way it was made, unless a running sandbox is in that namespace (then it is
 * not this sandbox's any more: those indexes were per process).
 */
async function teardownLegacy(net: EgressNetwork): Promise<void> {
  const netns = net.netns ?? `rt-n${net.index}`;
  const pids = await runCommand('ip', ['netns', 'pids', netns]);
  if (pids.code === 0 && pids.stdout.trim()) return;
  const chain = `RT-${net.index}`;
  await runCommand('iptables', ['-w', '-D', 'RUNTOOLS-FWD', '-i', net.hostIf, '-j', chain]);
  await runCommand('iptables', ['-w', '-F', chain]);
  await runCommand('iptables', ['-w', '-X', chain]);
  await runCommand('ip', ['link', 'del', net.hostIf]);
  await runCommand('ip', ['netns', 'del', netns]);
}

async function restore(cmd: 'iptables-restore', rules: string): Promise<void> {
  const r = await runCommand(cmd, ['-w', '--noflush'], { input: rules });
  if (r.code !== 0) throw new RuntimeError(`network setup (${cmd})`, r.stderr);
}
