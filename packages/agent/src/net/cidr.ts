import { isIPv4, isIPv6 } from 'node:net';

/** An address range: `10.0.0.0/8`, `::1/128`; a bare address is a range of one. */
export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/**
 * Parses one range as operators write it: `10.0.0.0/8`, `fd00::/8`, or a bare address
 * (`127.0.0.1`, a /32; `::1`, a /128). Throws an Error naming the entry when it is not one.
 */
export function parseCidr(text: string): Cidr {
  const entry = text.trim();
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (family === undefined) {
    throw new Error(`"${entry}" is not an IP address range such as 10.0.0.0/8 or fd00::/8`);
  }
  const bits = family === 'ipv4' ? 32 : 128;
  const prefixText = slash === -1 ? String(bits) : entry.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > bits) {
    throw new Error(`"${entry}" has a prefix length that is not 0 to ${bits}`);
  }
  return { address, prefix, family };
}

/** Parses a comma-separated list of ranges (`127.0.0.1/32,10.0.0.0/8`); blanks are skipped. */
export function parseCidrList(text: string): Cidr[] {
  return text
    .split(',')
    .filter((entry) => entry.trim() !== '')
    .map(parseCidr);
}
