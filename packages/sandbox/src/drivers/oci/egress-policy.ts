/**
 * What an egress sandbox may reach, as iptables rules (pure: no host access, unit-tested).
 *
 * By default the internet, and none of the host's own networks: private (RFC 1918), CGNAT,
 * link-local (cloud metadata at 169.254.169.254), loopback, the Alibaba and Azure metadata
 * addresses, multicast and reserved space. An `allowOut` list replaces "the internet" with its own
 * ranges; an entry that lies inside a blocked range opens that part on purpose (`10.1.2.0/24`
 * opens it; `0.0.0.0/0` does not open 10/8). DNS to the resolvers written into the sandbox's
 * resolv.conf is allowed whatever the list says, and only on port 53.
 */
export const BLOCKED_V4: readonly string[] = [
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8', // RFC 1918
  '100.64.0.0/10', // CGNAT (Alibaba's metadata 100.100.100.200 lies in it; Tailscale uses it)
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, cloud metadata (AWS, GCP, Azure, ...)
  '172.16.0.0/12', // RFC 1918
  '192.168.0.0/16', // RFC 1918
  '168.63.129.16/32', // Azure's wire server
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, broadcast
];

/** Refusals say so at once (`No route to host`) rather than leave the sandbox waiting. */
const REJECT = 'REJECT --reject-with icmp-admin-prohibited';

interface Cidr {
  base: number;
  prefix: number;
}

function parseCidr(text: string): Cidr {
  const [addr = '', bits] = text.split('/');
  const prefix = bits === undefined ? 32 : Number(bits);
  const octets = addr.split('.').map(Number);
  if (
    octets.length !== 4 ||
    octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255) ||
    !Number.isInteger(prefix) ||
    prefix < 0 ||
    prefix > 32
  ) {
    throw new TypeError(`not an IPv4 CIDR: ${text}`);
  }
  const value = octets.reduce((acc, o) => ((acc << 8) | o) >>> 0, 0);
  return { base: (value & mask(prefix)) >>> 0, prefix };
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** True when every address of `inner` is in `outer`. */
export function cidrWithin(inner: string, outer: string): boolean {
  const a = parseCidr(inner);
  const b = parseCidr(outer);
  return a.prefix >= b.prefix && (a.base & mask(b.prefix)) >>> 0 === b.base;
}

/** `a.b.c.d/n` with the host bits cleared, as iptables prints it. */
export function normalizeCidr(text: string): string {
  const { base, prefix } = parseCidr(text);
  return `${[24, 16, 8, 0].map((s) => (base >>> s) & 0xff).join('.')}/${prefix}`;
}

/**
 * The rules of one sandbox's chain (iptables-restore lines, without the table header), in order:
 * a refusal of any source but the sandbox's address (`source`), DNS to its resolvers, the ranges
 * it opens on purpose, the blocked ranges, the rest of its list, then a refusal of the rest.
 */
export function sandboxChainRules(
  chain: string,
  {
    allowOut,
    dns,
    source,
  }: { allowOut?: readonly string[]; dns: readonly string[]; source?: string },
): string[] {
  const allow = (allowOut?.length ? allowOut : ['0.0.0.0/0']).map(normalizeCidr);
  const opened = allow.filter((c) => BLOCKED_V4.some((b) => cidrWithin(c, b)));
  const rest = allow.filter((c) => !opened.includes(c));
  return [
    `:${chain} - [0:0]`,
    ...(source ? [`-A ${chain} ! -s ${source}/32 -j ${REJECT}`] : []),
    ...dns.flatMap((ip) =>
      ['udp', 'tcp'].map((p) => `-A ${chain} -d ${ip}/32 -p ${p} --dport 53 -j ACCEPT`),
    ),
    ...opened.map((c) => `-A ${chain} -d ${c} -j ACCEPT`),
    ...BLOCKED_V4.map((c) => `-A ${chain} -d ${c} -j ${REJECT}`),
    ...rest.map((c) => `-A ${chain} -d ${c} -j ACCEPT`),
    `-A ${chain} -j ${REJECT}`,
  ];
}

/** The name servers of a resolv.conf text that a sandbox can use: IPv4, not loopback. */
export function usableNameservers(resolvConf: string): string[] {
  return resolvConf
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w[0] === 'nameserver' && w[1] && /^\d+\.\d+\.\d+\.\d+$/.test(w[1]))
    .map((w) => w[1] as string)
    .filter((ip) => !cidrWithin(ip, '127.0.0.0/8') && !cidrWithin(ip, '0.0.0.0/8'));
}
