import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import type { AddressPolicy } from './address-policy.ts';
import { AddressRefusedError } from './address-refused-error.ts';

/** Resolves a host name to every address it has (the system resolver by default; tests inject one). */
export type HostLookup = (hostname: string) => Promise<LookupAddress[]>;

/** The system resolver (`getaddrinfo`, so `/etc/hosts` counts), every address in its order. */
export const systemLookup: HostLookup = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, order: 'verbatim' }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    );
  });

/**
 * The addresses a connection to `host` may use: an IP literal is checked as it is; a name is
 * resolved and every address it has must be allowed (one forbidden answer refuses the name, so a
 * rebinding name cannot slip a private address in among public ones). Throws
 * `AddressRefusedError`, or the resolver's error.
 */
export async function checkedAddresses(
  host: string,
  policy: AddressPolicy,
  lookup: HostLookup = systemLookup,
): Promise<LookupAddress[]> {
  const plain = host.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(plain);
  const addresses = family === 0 ? await lookup(plain) : [{ address: plain, family }];
  for (const { address } of addresses) {
    const verdict = policy.check(address);
    if (!verdict.allowed) throw new AddressRefusedError(plain, verdict.kind);
  }
  return addresses;
}
