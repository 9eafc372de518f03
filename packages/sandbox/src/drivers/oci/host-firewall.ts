import { readdir, writeFile } from 'node:fs/promises';
import { HostPrerequisiteError, RuntimeError } from '../../errors.ts';
import { withFileLock } from '../../host/file-lock.ts';
import { runCommand } from '../../host/run-command.ts';

/**
 * RunTools' host-wide firewall for egress sandboxes, shared by every engine on the host. IPv4,
 * following Docker's DOCKER-USER convention: FORWARD jumps first to `RUNTOOLS-USER` (the
 * operator's: created empty, never changed), then to `RUNTOOLS-FORWARD`, which concerns sandbox
 * links only and returns everything else: replies reach sandboxes, nothing new does, and a
 * sandbox's own traffic goes to its chain through `RUNTOOLS-EGRESS` (one jump per sandbox, added
 * and removed with it). `RUNTOOLS-INPUT` refuses a sandbox's new connections to the host itself
 * but DNS to the resolvers (which then meets the operator's INPUT rules), `RUNTOOLS-OUTPUT` drops
 * the host's own new connections to a sandbox, `RUNTOOLS-POSTROUTING` NATs sandboxes out. IPv6:
 * ip6tables drops everything on a sandbox link.
 */
export const EGRESS_CHAIN = 'RUNTOOLS-EGRESS';
const USER_CHAIN = 'RUNTOOLS-USER';
const FWD_CHAIN = 'RUNTOOLS-FORWARD';
const IN_CHAIN = 'RUNTOOLS-INPUT';
const OUT_CHAIN = 'RUNTOOLS-OUTPUT';
const NAT_CHAIN = 'RUNTOOLS-POSTROUTING';
const LOCK = '/run/runtools/netfilter.lock';
const NETNS_DIR = '/run/netns';
/** Refusals say so at once (`No route to host`) rather than leave the sandbox waiting. */
const REJECT = 'REJECT --reject-with icmp-admin-prohibited';

export interface HostFirewallOptions {
  /** The sandboxes' addresses, NAT'd out. */
  subnet: string;
  /** iptables' name pattern of the host ends of sandbox links (`rtsbx+`). */
  links: string;
  /** The resolvers sandboxes may reach on the host itself. */
  dns: () => Promise<string[]>;
}

let hostPrepared: Promise<void> | null = null;

/**
 * Host-wide rules, once per process, under a host-wide lock (another engine process may be doing
 * the same): forwarding on; RunTools' own chains rebuilt; the jumps into them added if missing.
 * RUNTOOLS-USER and the per-sandbox chains are never flushed here.
 */
export function prepareHost(options: HostFirewallOptions): Promise<void> {
  hostPrepared ??= withFileLock(LOCK, async () => {
    await writeFile('/proc/sys/net/ipv4/ip_forward', '1');
    const dns = await options.dns();
    const sbx = options.links;
    await runCommand('iptables', ['-w', '-N', USER_CHAIN]); // exists already: fine, never touched
    await runCommand('iptables', ['-w', '-N', EGRESS_CHAIN]); // holds the per-sandbox jumps
    await restore(
      [
        '*filter',
        `:${FWD_CHAIN} - [0:0]`,
        `:${IN_CHAIN} - [0:0]`,
        `:${OUT_CHAIN} - [0:0]`,
        `-A ${FWD_CHAIN} -o ${sbx} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
        `-A ${FWD_CHAIN} -o ${sbx} -j DROP`,
        `-A ${FWD_CHAIN} -i ${sbx} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
        `-A ${FWD_CHAIN} -i ${sbx} -j ${EGRESS_CHAIN}`,
        `-A ${FWD_CHAIN} -i ${sbx} -j ${REJECT}`,
        `-A ${IN_CHAIN} -i ${sbx} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
        ...dns.flatMap((ip) =>
          ['udp', 'tcp'].map(
            (p) => `-A ${IN_CHAIN} -i ${sbx} -d ${ip}/32 -p ${p} --dport 53 -j RETURN`,
          ),
        ),
        `-A ${IN_CHAIN} -i ${sbx} -j ${REJECT}`,
        `-A ${OUT_CHAIN} -o ${sbx} -m conntrack --ctstate NEW -j DROP`,
        'COMMIT',
        '*nat',
        `:${NAT_CHAIN} - [0:0]`,
        `-A ${NAT_CHAIN} -s ${options.subnet} ! -d ${options.subnet} -j MASQUERADE`,
        'COMMIT',
        '',
      ].join('\n'),
    );
    await jumpFirst('iptables', 'filter', 'FORWARD', [USER_CHAIN, FWD_CHAIN]);
    await jumpFirst('iptables', 'filter', 'INPUT', [IN_CHAIN]);
    await jumpFirst('iptables', 'filter', 'OUTPUT', [OUT_CHAIN]);
    await jumpFirst('iptables', 'nat', 'POSTROUTING', [NAT_CHAIN]);
    await removeLegacyRules();
    if (!(await readdir('/proc/sys/net/ipv6').catch(() => null))) return; // no IPv6 in this kernel
    const v6 = await runCommand('ip6tables-restore', ['-w', '--noflush'], {
      input: [
        '*filter',
        `:${FWD_CHAIN} - [0:0]`,
        `:${IN_CHAIN} - [0:0]`,
        `:${OUT_CHAIN} - [0:0]`,
        `-A ${FWD_CHAIN} -i ${sbx} -j DROP`,
        `-A ${FWD_CHAIN} -o ${sbx} -j DROP`,
        `-A ${IN_CHAIN} -i ${sbx} -j DROP`,
        `-A ${OUT_CHAIN} -o ${sbx} -j DROP`,
        'COMMIT',
        '',
      ].join('\n'),
    }).catch((err: Error) => ({ code: -1, stderr: err.message, stdout: '' }));
    if (v6.code !== 0) {
      throw new HostPrerequisiteError(
        `ip6tables-restore failed (${v6.stderr.trim()}); sandboxes' IPv6 could not be fenced`,
        'install iptables (it provides ip6tables), or boot with ipv6.disable=1',
      );
    }
    await jumpFirst('ip6tables', 'filter', 'FORWARD', [FWD_CHAIN]);
    await jumpFirst('ip6tables', 'filter', 'INPUT', [IN_CHAIN]);
    await jumpFirst('ip6tables', 'filter', 'OUTPUT', [OUT_CHAIN]);
  }).catch((err) => {
    hostPrepared = null;
    throw err;
  });
  return hostPrepared;
}

/**
 * Makes `parent` jump to `chains`, in that order, ahead of rules added later by others (Docker's
 * placement). Jumps that are there in that order stay where they are, even if an operator or
 * another tool has put rules ahead of them since.
 */
async function jumpFirst(
  cmd: 'iptables' | 'ip6tables',
  table: string,
  parent: string,
  chains: string[],
): Promise<void> {
  const list = await runCommand(cmd, ['-w', '-t', table, '-S', parent]);
  if (list.code !== 0) throw new RuntimeError(`network setup (${cmd} -S ${parent})`, list.stderr);
  const at = chains.map((c) => list.stdout.split('\n').indexOf(`-A ${parent} -j ${c}`));
  if (at.every((i, k) => i >= 0 && (k === 0 || i > (at[k - 1] as number)))) return;
  for (const c of chains) {
    while ((await runCommand(cmd, ['-w', '-t', table, '-D', parent, '-j', c])).code === 0) {}
  }
  for (const c of [...chains].reverse()) {
    const r = await runCommand(cmd, ['-w', '-t', table, '-I', parent, '1', '-j', c]);
    if (r.code !== 0) throw new RuntimeError(`network setup (${cmd} -I ${parent})`, r.stderr);
  }
}

/** The next `prepareHost` sets the host up again (its rules were flushed since, say). */
export function forgetHostSetup(): void {
  hostPrepared = null;
}

/**
 * The host-wide rules of RunTools before indexes were host-wide (chains `RUNTOOLS-FWD`,
 * `RUNTOOLS-IN`, NAT of 10.203.0.0/16), removed once no sandbox of that time is left.
 */
async function removeLegacyRules(): Promise<void> {
  const names = await readdir(NETNS_DIR).catch(() => [] as string[]);
  if (names.some((n) => /^rt-n\d+$/.test(n))) return;
  if ((await runCommand('iptables', ['-w', '-S', 'RUNTOOLS-FWD'])).code !== 0) return;
  for (const [parent, chain] of [
    ['FORWARD', 'RUNTOOLS-FWD'],
    ['INPUT', 'RUNTOOLS-IN'],
  ] as const) {
    while ((await runCommand('iptables', ['-w', '-D', parent, '-j', chain])).code === 0) {}
    await runCommand('iptables', ['-w', '-F', chain]);
    await runCommand('iptables', ['-w', '-X', chain]);
  }
  const legacy = ['-s', '10.203.0.0/16', '!', '-d', '10.203.0.0/16', '-j', 'MASQUERADE'];
  while (
    (await runCommand('iptables', ['-w', '-t', 'nat', '-D', 'POSTROUTING', ...legacy])).code === 0
  ) {}
}

async function restore(rules: string): Promise<void> {
  const r = await runCommand('iptables-restore', ['-w', '--noflush'], { input: rules });
  if (r.code !== 0) throw new RuntimeError('network setup (iptables-restore)', r.stderr);
}
