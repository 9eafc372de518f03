import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import type { ApiKeyRepository } from '../store/api-keys.ts';
import type { AppEnv, Principal } from './app-env.ts';

/** How often open connections' keys are checked against the database (revokes by other servers). */
const defaultPollMs = 500;

/**
 * The connections each API key has open — WebSocket and SSE streams, streamed responses, port
 * proxy tunnels — so that revoking a key ends them: at once when it is revoked through this
 * process, within `pollMs` when another server (sharing the database) revoked it.
 */
export class KeySessions {
  readonly #apiKeys: ApiKeyRepository;
  readonly #pollMs: number;
  readonly #open = new Map<string, Set<() => void>>();
  #timer: NodeJS.Timeout | undefined;
  #polling = false;

  constructor(apiKeys: ApiKeyRepository, pollMs = defaultPollMs) {
    this.#apiKeys = apiKeys;
    this.#pollMs = pollMs;
  }

  /** Registers a connection of `principal`; `close` ends it. Returns the unregister function. */
  track(principal: Principal, close: () => void): () => void {
    if (principal.kind === 'bootstrap') return () => {};
    const id = principal.apiKey.id;
    let set = this.#open.get(id);
    if (set === undefined) {
      set = new Set();
      this.#open.set(id, set);
    }
    set.add(close);
    this.#timer ??= setInterval(() => void this.#poll(), this.#pollMs).unref();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const now = this.#open.get(id);
      now?.delete(close);
      if (now?.size === 0) this.#open.delete(id);
      if (this.#open.size === 0 && this.#timer !== undefined) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  /** Ends every open connection of key `id` (it was just revoked or deleted). */
  closeKey(id: string): void {
    const set = this.#open.get(id);
    if (set === undefined) return;
    this.#open.delete(id);
    for (const close of set) {
      try {
        close();
      } catch {
        // one connection failing to close does not keep the others open
      }
    }
  }

  async #poll(): Promise<void> {
    if (this.#polling || this.#open.size === 0) return;
    this.#polling = true;
    try {
      for (const id of await this.#apiKeys.revokedAmong([...this.#open.keys()])) {
        this.closeKey(id);
      }
    } catch {
      // the database is briefly unreachable: the next poll tries again
    } finally {
      this.#polling = false;
    }
  }
}

type NodeBindings = { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;

/**
 * Tracks each authenticated request until its response is done (or, for a WebSocket, until its
 * socket closes); revoking the key destroys the connection.
 */
export function trackKeySessions(sessions: KeySessions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { incoming, outgoing } = (c.env as NodeBindings) ?? {};
    if (incoming !== undefined) {
      c.set('untrackConnection', trackConnection(sessions, c.get('principal'), incoming, outgoing));
    }
    return next();
  };
}

/** Registers the connection of a request (see `trackKeySessions`); also used by the port proxy. */
export function trackConnection(
  sessions: KeySessions,
  principal: Principal,
  incoming: IncomingMessage,
  outgoing: ServerResponse | undefined,
): () => void {
  const socket = incoming.socket;
  const untrack = sessions.track(principal, () => socket.destroy());
  // A WebSocket upgrade has no response object: the connection is the socket's.
  if (outgoing !== undefined) outgoing.once('close', untrack);
  else socket.once('close', untrack);
  return untrack;
}
