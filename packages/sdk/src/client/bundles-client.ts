import type { Bundle } from '../api/bundles.ts';
import { networkError, RunToolsApiError } from './api-error.ts';
import type { ClientTransport } from './sandboxes-client.ts';

/** `rt.bundles`: the code bundles custom tools run (one ES module each, named by SHA-256). */
export interface BundlesClient {
  /**
   * Uploads a bundle under the SHA-256 of its bytes (computed here; the server checks it) and
   * resolves with it. Uploading the same bytes again changes nothing.
   *
   * @example
   * const { sha256 } = await rt.bundles.upload(await readFile('dist/agent.mjs'));
   * await rt.runtimes.create({ ...definition, bundle: sha256 });
   */
  upload(data: Uint8Array | string, options?: { signal?: AbortSignal }): Promise<Bundle>;
  /** A bundle's bytes (404 `bundle_not_found` when the server has none by that hash). */
  get(sha256: string, options?: { signal?: AbortSignal }): Promise<Uint8Array>;
}

/** The SHA-256 of `bytes` as lowercase hex (Web Crypto: the same in Node and browsers). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** @internal builds `rt.bundles` over the client's transport. */
export function bundlesClient(transport: ClientTransport): BundlesClient {
  const send = async (path: string, init: RequestInit, what: string): Promise<Response> => {
    let response: Response;
    try {
      response = await transport.fetch(path, init);
    } catch (error) {
      if (init.signal?.aborted) throw init.signal.reason;
      throw networkError(error, what);
    }
    if (!response.ok) throw await RunToolsApiError.fromResponse(response);
    return response;
  };
  return {
    async upload(data, options = {}) {
      const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
      const path = `/v1/bundles/${await sha256Hex(bytes)}`;
      const what = `PUT ${path}`;
      const response = await send(
        path,
        {
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream', accept: 'application/json' },
          body: bytes as Uint8Array<ArrayBuffer>,
          signal: options.signal,
        },
        what,
      );
      try {
        return (await response.json()) as Bundle;
      } catch (error) {
        throw networkError(error, what);
      }
    },
    async get(sha256, options = {}) {
      const path = `/v1/bundles/${encodeURIComponent(sha256)}`;
      const what = `GET ${path}`;
      const response = await send(
        path,
        {
          method: 'GET',
          headers: { accept: 'application/octet-stream' },
          signal: options.signal,
        },
        what,
      );
      try {
        return new Uint8Array(await response.arrayBuffer());
      } catch (error) {
        throw networkError(error, what);
      }
    },
  };
}
