import { BlockList, isIP } from 'node:net';
import { parseCidr } from './cidr.ts';
import { type ForbiddenKind, forbiddenRanges, metadataAddresses } from './forbidden-ranges.ts';

/** What the policy says about one address. */
export type AddressVerdict = { allowed: true } | { allowed: false; kind: ForbiddenKind };

export interface AddressPolicyOptions {
  /**
   * Ranges the operator allows although they are forbidden by default, e.g.
   * `['127.0.0.1/32', '10.0.0.0/8']`. A metadata address (`169.254.169.254`, …) is allowed only
   * when listed itself (a /32 or /128), never by a wider range.
   */
  allow?: readonly string[];
}

/**
 * Which IP addresses outbound requests may connect to: everything public, nothing in
 * `forbiddenRanges` (loopback, private, link-local, CGNAT, unique-local, unspecified, multicast,
 * metadata) unless the operator allowed it. IPv4-mapped (`::ffff:127.0.0.1`), IPv4-compatible
 * (`::127.0.0.1`) and NAT64 (`64:ff9b::7f00:1`) forms are judged as the IPv4 address they carry.
 *
 * @example
 * const policy = new AddressPolicy({ allow: ['10.1.0.0/16'] });
 * policy.check('10.1.2.3'); // { allowed: true }
 * policy.check('127.0.0.1'); // { allowed: false, kind: 'loopback' }
 */
export class AddressPolicy {
  /** The allowed ranges, as given. */
  readonly allow: readonly string[];
  readonly #allowed = new BlockList();
  /** Allowed entries that are single addresses: only these open a metadata address. */
  readonly #allowedExactly = new BlockList();
  readonly #forbidden: ReadonlyArray<{ kind: ForbiddenKind; list: BlockList }>;

  /** Throws an Error naming the entry when an allowed range is not one. */
  constructor(options: AddressPolicyOptions = {}) {
    this.allow = [...(options.allow ?? [])];
    for (const entry of this.allow) {
      const cidr = parseCidr(entry);
      this.#allowed.addSubnet(cidr.address, cidr.prefix, cidr.family);
      if (cidr.prefix === (cidr.family === 'ipv4' ? 32 : 128)) {
        this.#allowedExactly.addAddress(cidr.address, cidr.family);
      }
    }
    const metadata = new BlockList();
    for (const address of metadataAddresses) metadata.addAddress(address, familyOf(address));
    const byKind = new Map<ForbiddenKind, BlockList>([['metadata', metadata]]);
    for (const { cidr, kind } of forbiddenRanges) {
      const range = parseCidr(cidr);
      const list = byKind.get(kind) ?? new BlockList();
      list.addSubnet(range.address, range.prefix, range.family);
      byKind.set(kind, list);
    }
    this.#forbidden = [...byKind].map(([kind, list]) => ({ kind, list }));
  }

  /**
   * Whether a connection to `address` (an IP address, as DNS or a URL gives it; brackets and an
   * IPv6 zone are ignored) is allowed. Anything that is not an IP address is refused as reserved.
   */
  check(address: string): AddressVerdict {
    const plain = address.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
    if (isIP(plain) === 0) return { allowed: false, kind: 'reserved' };
    for (const candidate of [plain, embeddedIPv4(plain)]) {
      if (candidate === undefined) continue;
      const verdict = this.#checkOne(candidate);
      if (!verdict.allowed) return verdict;
    }
    return { allowed: true };
  }

  #checkOne(address: string): AddressVerdict {
    const family = familyOf(address);
    for (const { kind, list } of this.#forbidden) {
      if (!list.check(address, family)) continue;
      const allowed =
        kind === 'metadata'
          ? this.#allowedExactly.check(address, family)
          : this.#allowed.check(address, family);
      return allowed ? { allowed: true } : { allowed: false, kind };
    }
    return { allowed: true };
  }
}

function familyOf(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 4 ? 'ipv4' : 'ipv6';
}

/**
 * The IPv4 address an IPv4-compatible (`::a.b.c.d`, deprecated) or NAT64 (`64:ff9b::a.b.c.d`)
 * IPv6 address carries; a NAT64 gateway would connect to it. The WHATWG URL parser writes an IPv6
 * address in its one canonical form, so the last 32 bits are the last one or two groups.
 */
function embeddedIPv4(address: string): string | undefined {
  if (isIP(address) !== 6) return undefined;
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const match = /^(?:64:ff9b:|:):(?:([0-9a-f]{1,4}):)?([0-9a-f]{1,4})$/.exec(canonical);
  if (match === null) return undefined;
  const value = (Number.parseInt(match[1] ?? '0', 16) << 16) | Number.parseInt(match[2] ?? '0', 16);
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
}
