import { RunToolsError } from '@runtools/sdk/errors';
import { AddressPolicy } from '../net/address-policy.ts';
import { AddressRefusedError } from '../net/address-refused-error.ts';
import type { HostLookup } from '../net/checked-lookup.ts';
import { createPinnedFetch, type PinnedFetch } from '../net/pinned-fetch.ts';

/** Where keys and endpoints come from: the server's environment, read once at the edge. */
export type ModelEnvironment = Readonly<Record<string, string | undefined>>;

/** The environment variable holding each provider's API key. */
export const PROVIDER_KEYS = {
  anthropic: 'ANTHROPIC_API_KEY',
  openai: 'OPENAI_API_KEY',
  google: 'GOOGLE_GENERATIVE_AI_API_KEY',
} as const;

/** Each provider's own API: where its key goes when nothing else is configured. */
export const PROVIDER_APIS = {
  anthropic: 'https://api.anthropic.com/v1',
  openai: 'https://api.openai.com/v1',
  google: 'https://generativelanguage.googleapis.com/v1beta',
} as const;

export type KeyedProvider = keyof typeof PROVIDER_KEYS;

/**
 * A model configuration this server will not serve as asked: a server-held key sent somewhere
 * the operator did not allow (`model_key_not_allowed`), or an endpoint at a forbidden address
 * (`model_endpoint_forbidden`). The message names the setting that would allow it.
 */
export class ModelAccessError extends RunToolsError {
  constructor(
    code: 'model_key_not_allowed' | 'model_endpoint_forbidden',
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(code, message, { details });
    this.name = 'ModelAccessError';
  }
}

export interface ModelAccessOptions {
  /**
   * Address ranges custom endpoints may reach although they are forbidden by default
   * (`RUNTOOLS_MODEL_ENDPOINT_ALLOW`; `runtools dev` adds loopback).
   */
  endpointAllow?: readonly string[];
  /**
   * URL prefixes the server's keys may be sent to besides each provider's own API
   * (`RUNTOOLS_MODEL_BASE_URLS`). The environment's `*_BASE_URL` values count as listed.
   */
  keyBaseURLs?: readonly string[];
  /** Variables `apiKey: 'env:NAME'` may name for any endpoint (`RUNTOOLS_MODEL_KEY_VARS`). */
  keyVariables?: readonly string[];
  /** How endpoint host names are resolved (default: the system resolver; tests inject one). */
  lookup?: HostLookup;
}

/**
 * What the operator lets agents do with the server's model keys and network: a provider's key
 * (`OPENAI_API_KEY`, …) goes only to that provider's API or to a base URL the operator listed;
 * `apiKey: 'env:NAME'` may name another variable only when the operator listed it; and an
 * endpoint that is neither a provider's API nor a listed base URL is reached only at an address
 * the address policy allows (resolved, checked and pinned per connection).
 *
 * @example
 * const access = new ModelAccess({ keyBaseURLs: ['https://gateway.internal/v1'] });
 * resolveModel({ provider: 'openai', model: 'gpt-5.4', baseURL: 'https://gateway.internal/v1' }, env, undefined, access);
 */
export class ModelAccess {
  readonly endpointPolicy: AddressPolicy;
  readonly keyBaseURLs: readonly string[];
  readonly keyVariables: ReadonlySet<string>;
  readonly #lookup: HostLookup | undefined;
  #pinned: PinnedFetch | undefined;

  /** Throws an Error naming the entry when a range or URL is malformed. */
  constructor(options: ModelAccessOptions = {}) {
    this.endpointPolicy = new AddressPolicy({ allow: options.endpointAllow ?? [] });
    this.keyBaseURLs = (options.keyBaseURLs ?? []).map((url) => {
      if (!URL.canParse(url))
        throw new Error(`"${url}" is not a URL such as https://gw.example.com/v1`);
      return new URL(url).href;
    });
    this.keyVariables = new Set(options.keyVariables ?? []);
    this.#lookup = options.lookup;
  }

  /**
   * Throws `model_key_not_allowed` unless the operator lets `variable`, a key the server holds,
   * be sent to `url`. Checked before whether it is set, so a refusal says nothing about the
   * server's environment. `who` names what asks for it (`model.apiKey`, `Model "gpt-5.4"`).
   */
  allowKey(variable: string, url: string, env: ModelEnvironment, who: string): void {
    if (this.#mayReceive(variable, url, env)) return;
    const provider = providerOfVariable(variable);
    const rule = provider
      ? `${variable} is only sent to ${PROVIDER_APIS[provider]} or to base URLs the operator lists in RUNTOOLS_MODEL_BASE_URLS`
      : `a variable other than a provider's own key may only be named when the operator lists it in RUNTOOLS_MODEL_KEY_VARS`;
    throw new ModelAccessError(
      'model_key_not_allowed',
      `${who} would send the server's ${variable} to ${url}, which the operator has not allowed (${rule}). Give the runtime its own apiKey instead.`,
      { variable, url },
    );
  }

  /**
   * The `fetch` for model requests to `url`: the default one for a provider's own API and the
   * operator's base URLs, else one pinned to addresses the endpoint policy allows, which fails a
   * refused connection with `model_endpoint_forbidden`.
   */
  fetchFor(url: string, env: ModelEnvironment): typeof fetch | undefined {
    const trusted = [...Object.values(PROVIDER_APIS), ...this.#operatorBaseURLs(env)];
    if (trusted.some((prefix) => isUnder(url, prefix))) return undefined;
    this.#pinned ??= createPinnedFetch({
      policy: this.endpointPolicy,
      ...(this.#lookup ? { lookup: this.#lookup } : {}),
    });
    const pinned = this.#pinned;
    return async (input, init) => {
      try {
        return await pinned(input, init);
      } catch (error) {
        if (!(error instanceof AddressRefusedError)) throw error;
        throw new ModelAccessError(
          'model_endpoint_forbidden',
          `The model endpoint ${error.host} is or resolves to a loopback, private, link-local or metadata address, which this server does not connect to: the operator can allow its range in RUNTOOLS_MODEL_ENDPOINT_ALLOW (runtools dev allows loopback).`,
          { host: error.host },
        );
      }
    };
  }

  /** Ends the idle connections of the pinned fetch. */
  async close(): Promise<void> {
    await this.#pinned?.close();
    this.#pinned = undefined;
  }

  #mayReceive(variable: string, url: string, env: ModelEnvironment): boolean {
    if (this.keyVariables.has(variable)) return true;
    const provider = providerOfVariable(variable);
    if (provider === undefined) return false;
    return [PROVIDER_APIS[provider], ...this.#operatorBaseURLs(env)].some((p) => isUnder(url, p));
  }

  /** `RUNTOOLS_MODEL_BASE_URLS` and the `*_BASE_URL` variables the operator set. */
  #operatorBaseURLs(env: ModelEnvironment): string[] {
    const fromEnv = Object.entries(env)
      .filter(([name, value]) => /_BASE_URL$/.test(name) && value)
      .map(([, value]) => value as string);
    return [...this.keyBaseURLs, ...fromEnv];
  }
}

function providerOfVariable(variable: string): KeyedProvider | undefined {
  const entry = Object.entries(PROVIDER_KEYS).find(([, name]) => name === variable);
  return entry?.[0] as KeyedProvider | undefined;
}

/**
 * Whether `url` is `prefix` or below it: the same scheme, host and port, and a path that starts
 * with the prefix's path at a segment boundary (`https://a.example/v1` covers `…/v1/chat`, not
 * `…/v10` nor `https://a.example.evil/v1`).
 */
export function isUnder(url: string, prefix: string): boolean {
  let target: URL;
  let base: URL;
  try {
    target = new URL(url);
    base = new URL(prefix);
  } catch {
    return false;
  }
  if (target.origin !== base.origin || target.username || target.password) return false;
  const path = base.pathname.replace(/\/+$/, '');
  return target.pathname === path || target.pathname.startsWith(`${path}/`) || path === '';
}
