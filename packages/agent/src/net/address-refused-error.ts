import type { ForbiddenKind } from './forbidden-ranges.ts';

/**
 * A connection the address policy refused. Its message names the host and the kind of range
 * (`loopback`, `private`, …) but never the address a name resolved to: callers that report to an
 * API caller turn it into their own typed error (`webhook_url_forbidden`,
 * `model_endpoint_forbidden`) that names the setting to change.
 */
export class AddressRefusedError extends Error {
  readonly code = 'ERR_ADDRESS_REFUSED';
  readonly host: string;
  readonly kind: ForbiddenKind;

  constructor(host: string, kind: ForbiddenKind) {
    super(`${host} is or resolves to a ${kind} address, which the address policy refuses`);
    this.name = 'AddressRefusedError';
    this.host = host;
    this.kind = kind;
  }

  /** The refusal in `error` or in its chain of causes (fetch wraps it in a `TypeError`). */
  static find(error: unknown): AddressRefusedError | undefined {
    const seen = new Set<unknown>();
    for (let e = error; e instanceof Error && !seen.has(e); e = e.cause) {
      seen.add(e);
      if (e instanceof AddressRefusedError) return e;
    }
    return undefined;
  }
}
