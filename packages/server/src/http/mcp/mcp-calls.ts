import type { RequestId } from '@modelcontextprotocol/sdk/types.js';

/** One tool call in flight: its abort signal, and `done` once it has answered. */
export interface TrackedCall {
  readonly signal: AbortSignal;
  done(): void;
}

/**
 * The `tools/call` requests this process is answering, by MCP session, so that a
 * `notifications/cancelled` or a `DELETE /v1/mcp` — which arrive as HTTP requests of their own,
 * handled by a fresh stateless server — can reach them. A session is named by the caller's key
 * and the `Mcp-Session-Id` the endpoint handed out: JSON-RPC ids are only unique within one
 * client, and two clients may share a key.
 */
export class McpCalls {
  /** session → JSON-RPC id (as JSON: 1 and "1" differ) → the calls with that id. */
  readonly #sessions = new Map<string, Map<string, Set<AbortController>>>();

  /** Registers call `requestId` of `session`; cancelling it aborts the returned signal. */
  track(session: string, requestId: RequestId): TrackedCall {
    let calls = this.#sessions.get(session);
    if (calls === undefined) {
      calls = new Map();
      this.#sessions.set(session, calls);
    }
    const id = JSON.stringify(requestId);
    // A client that reuses an id still in flight (a bug) cancels both calls with it, not one.
    let same = calls.get(id);
    if (same === undefined) {
      same = new Set();
      calls.set(id, same);
    }
    const controller = new AbortController();
    same.add(controller);
    return {
      signal: controller.signal,
      done: () => {
        const now = this.#sessions.get(session);
        const set = now?.get(id);
        if (now === undefined || set === undefined || !set.delete(controller)) return;
        if (set.size === 0) now.delete(id);
        if (now.size === 0) this.#sessions.delete(session);
      },
    };
  }

  /** Aborts call `requestId` of `session`, if this process is answering it. */
  cancel(session: string, requestId: RequestId, reason: string): void {
    for (const controller of this.#sessions.get(session)?.get(JSON.stringify(requestId)) ?? []) {
      controller.abort(new Error(reason));
    }
  }

  /** Aborts every call of `session` (the client ended it). */
  cancelSession(session: string, reason: string): void {
    for (const calls of this.#sessions.get(session)?.values() ?? []) {
      for (const controller of calls) controller.abort(new Error(reason));
    }
  }

  /** How many calls are in flight (for tests). */
  get size(): number {
    let n = 0;
    for (const calls of this.#sessions.values()) for (const set of calls.values()) n += set.size;
    return n;
  }
}
