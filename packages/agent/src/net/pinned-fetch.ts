import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import type { AddressPolicy } from './address-policy.ts';
import { AddressRefusedError } from './address-refused-error.ts';
import { checkedAddresses, type HostLookup, systemLookup } from './checked-lookup.ts';

export interface PinnedFetchOptions {
  policy: AddressPolicy;
  /** How names are resolved (default: the system resolver). */
  lookup?: HostLookup;
  /** Longest wait for a TCP/TLS connection (default 10 000 ms). */
  connectTimeoutMs?: number;
}

/**
 * A `fetch` that connects only where its policy allows. `close()` ends its connections; a later
 * request opens new ones.
 */
export type PinnedFetch = typeof fetch & { close(): Promise<void> };

/**
 * A `fetch` for URLs a user chose (webhooks, custom model endpoints) that connects only to
 * addresses the policy allows, and only to the addresses it checked: the check runs inside the
 * connection's own DNS lookup, so a name that resolves to a public address when checked and to
 * a private one a moment later (DNS rebinding) cannot get past it. Every new connection is
 * checked again, redirects included; an IP literal is checked before connecting. The Host header
 * and TLS server name stay the URL's. A refused connection rejects with `AddressRefusedError`;
 * a URL that is not http(s) with a `TypeError`.
 *
 * @example
 * const pinned = createPinnedFetch({ policy: new AddressPolicy() });
 * await pinned('http://169.254.169.254/latest/meta-data/'); // rejects: AddressRefusedError
 */
export function createPinnedFetch(options: PinnedFetchOptions): PinnedFetch {
  const { policy } = options;
  const hostLookup = options.lookup ?? systemLookup;
  const lookup = (
    hostname: string,
    lookupOptions: LookupOptions,
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    checkedAddresses(hostname, policy, hostLookup).then(
      (addresses) => {
        const wanted = lookupOptions.family
          ? addresses.filter((a) => a.family === lookupOptions.family)
          : addresses;
        const first = wanted[0];
        if (first === undefined) {
          callback(
            Object.assign(new Error(`${hostname} has no usable address`), { code: 'ENOTFOUND' }),
            [],
          );
        } else if (lookupOptions.all) {
          callback(null, wanted);
        } else {
          callback(null, first.address, first.family);
        }
      },
      (error: Error) => callback(error, []),
    );
  };
  const connector = buildConnector({ lookup, timeout: options.connectTimeoutMs ?? 10_000 });
  const newAgent = () =>
    new Agent({
      connect: (connectOptions, callback) => {
        // Node connects to an IP literal without a lookup: check it here.
        const host = connectOptions.hostname.replace(/^\[(.*)\]$/, '$1');
        if (isIP(host) !== 0) {
          const verdict = policy.check(host);
          if (!verdict.allowed) return callback(new AddressRefusedError(host, verdict.kind), null);
        }
        return connector(connectOptions, callback);
      },
    });
  let agent: Agent | undefined;
  const pinned = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`Only http and https URLs are fetched, not ${url.protocol}`);
    }
    agent ??= newAgent();
    try {
      const response = await undiciFetch(
        input as Parameters<typeof undiciFetch>[0],
        { ...init, dispatcher: agent } as Parameters<typeof undiciFetch>[1],
      );
      return response as unknown as Response;
    } catch (error) {
      throw AddressRefusedError.find(error) ?? error;
    }
  };
  const close = async () => {
    const closing = agent;
    agent = undefined;
    await closing?.close();
  };
  return Object.assign(pinned as typeof fetch, { close });
}
