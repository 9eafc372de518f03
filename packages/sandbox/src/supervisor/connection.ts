import type net from 'node:net';
import { SupervisorError } from '../errors.ts';
import { connectSupervisor, type SupervisorEndpoint } from './endpoint.ts';
import { encodeFrame, FrameDecoder, FrameReader, Rep, Req } from './protocol.ts';

type Field = Parameters<typeof encodeFrame>[1][number];

/** An `ERR` reply from rt-init: the errno of the failed operation and its message. */
export class SupervisorReplyError extends Error {
  readonly errno: number;
  constructor(errno: number, message: string) {
    super(message);
    this.name = 'SupervisorReplyError';
    this.errno = errno;
  }
}

export interface OutputChunk {
  pid: number;
  stream: 1 | 2;
  offset: bigint;
  data: Buffer;
}
export interface ExitInfo {
  pid: number;
  exitCode: number;
  signal: number;
  timedOut: boolean;
}

interface Pending {
  resolve: (frame: { type: number; reader: FrameReader }) => void;
  reject: (err: Error) => void;
  /** DATA / ENTRIES frames that arrive before the final reply. */
  onPart?: (type: number, reader: FrameReader) => void;
  /**
   * Called synchronously with the final reply, before any later frame is dispatched: a SPAWN
   * caller registers its output watcher here, since OUT frames can follow SPAWNED in one read.
   */
  onFinal?: (type: number, reader: FrameReader) => void;
}

export interface ConnectionHandlers {
  onOutput(chunk: OutputChunk): void;
  onExit(exit: ExitInfo): void;
  onClose(error?: Error): void;
}

/**
 * One connection to rt-init. Requests carry a `req` id and are matched with their reply; OUT and
 * EXIT frames go to the handlers. Kept open between calls: a connection per call would double the
 * exec round trip. Never kept open across a checkpoint (see PROTOCOL.md).
 */
export class SupervisorConnection {
  private readonly socket: net.Socket;
  private readonly decoder = new FrameDecoder();
  private readonly pending = new Map<number, Pending>();
  private readonly handlers: ConnectionHandlers;
  private nextReq = 1;
  private closed = false;

  private constructor(socket: net.Socket, handlers: ConnectionHandlers) {
    this.socket = socket;
    this.handlers = handlers;
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.shutdown(err));
    socket.on('close', () => this.shutdown());
  }

  /** Connects to rt-init, retrying until it listens or `timeoutMs` passes. */
  static async open(
    endpoint: SupervisorEndpoint,
    handlers: ConnectionHandlers,
    timeoutMs = 5000,
  ): Promise<SupervisorConnection> {
    const socket = await connectSupervisor(endpoint, timeoutMs);
    return new SupervisorConnection(socket, handlers);
  }

  /** Opens a raw connection and asks rt-init to relay it to TCP `port` inside the sandbox. */
  static async relay(
    endpoint: SupervisorEndpoint,
    port: number,
    timeoutMs = 5000,
  ): Promise<net.Socket> {
    const socket = await connectSupervisor(endpoint, timeoutMs);
    const decoder = new FrameDecoder();
    return new Promise<net.Socket>((resolve, reject) => {
      // The reply is read in paused mode (`readable` + `read()`): bytes that came with it (a
      // server that speaks first) go back with `unshift` and stay buffered, and once the listener
      // is gone the socket is as new, so whoever reads it next (a `data` listener, a pipe,
      // node:http) gets them. A `data` listener would leave the socket flowing, emitting to nobody.
      const onReadable = () => {
        for (let chunk = socket.read() as Buffer | null; chunk; chunk = socket.read()) {
          let frames: ReturnType<FrameDecoder['push']>;
          try {
            frames = decoder.push(chunk, 1);
          } catch (err) {
            fail(err as Error);
            return;
          }
          const frame = frames[0];
          if (!frame) continue;
          socket.off('readable', onReadable);
          socket.off('error', fail);
          socket.off('close', closed);
          if (frame.type === Rep.OK) {
            const rest = decoder.takeRemainder();
            if (rest.length) socket.unshift(rest);
            resolve(socket);
          } else {
            const r = new FrameReader(frame.payload);
            r.u32();
            const errno = r.i32();
            socket.destroy();
            reject(new SupervisorReplyError(errno, r.str()));
          }
          return;
        }
      };
      const fail = (err: Error) => {
        socket.destroy();
        reject(err);
      };
      const closed = () => fail(new SupervisorError('rt-init closed the relay before answering'));
      socket.on('readable', onReadable);
      socket.on('error', fail);
      socket.on('close', closed);
      socket.write(encodeFrame(Req.CONNECT, [{ u32: 1 }, { u32: port }]));
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Sends a request and resolves with its final reply frame (OK, SPAWNED, STAT, PROCS). */
  request(
    type: number,
    fields: readonly Field[],
    hooks: Pick<Pending, 'onPart' | 'onFinal'> = {},
  ): Promise<{ type: number; reader: FrameReader }> {
    return this.requestWithReq(this.reserveReq(), type, fields, hooks);
  }

  /** Allocates a request id for a multi-frame exchange (WRITE_OPEN / DATA / CLOSE). */
  reserveReq(): number {
    const req = this.nextReq++;
    if (this.nextReq > 0x7fff_ffff) this.nextReq = 1;
    return req;
  }

  /** Sends a frame that has no reply; resolves when it is handed to the kernel (backpressure). */
  send(type: number, fields: readonly Field[]): Promise<void> {
    if (this.closed) return Promise.reject(new SupervisorError('connection to rt-init is closed'));
    return new Promise((resolve) => {
      if (this.socket.write(encodeFrame(type, fields))) resolve();
      else this.socket.once('drain', () => resolve());
    });
  }

  /** Like `request` but with a caller-chosen req id (for exchanges spanning several frames). */
  requestWithReq(
    req: number,
    type: number,
    fields: readonly Field[],
    hooks: Pick<Pending, 'onPart' | 'onFinal'> = {},
  ): Promise<{ type: number; reader: FrameReader }> {
    if (this.closed) return Promise.reject(new SupervisorError('connection to rt-init is closed'));
    return new Promise((resolve, reject) => {
      this.pending.set(req, { resolve, reject, ...hooks });
      this.socket.write(encodeFrame(type, [{ u32: req }, ...fields]));
    });
  }

  close(): void {
    this.socket.destroy();
    this.shutdown();
  }

  /**
   * Closes the connection and resolves once rt-init has closed its end too (it does on EOF, when
   * nothing is left to do for the connection). A checkpoint needs that: CRIU cannot dump a socket
   * whose peer is gone, and rt-init, frozen right after, would never get to close it. Frames still
   * coming meanwhile go to the handlers as usual. After `timeoutMs` the socket is destroyed anyway.
   */
  async closeGracefully(timeoutMs = 10_000): Promise<void> {
    if (!this.socket.destroyed) {
      const gone = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
      const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
      this.socket.end();
      await gone;
      clearTimeout(timer);
    }
    this.shutdown();
  }

  private onData(chunk: Buffer): void {
    let frames: ReturnType<FrameDecoder['push']>;
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.socket.destroy();
      this.shutdown(err as Error);
      return;
    }
    for (const frame of frames) {
      try {
        this.dispatch(frame.type, new FrameReader(frame.payload));
      } catch (err) {
        // A malformed frame from rt-init means the connection can't be trusted any more.
        this.socket.destroy();
        this.shutdown(err as Error);
        return;
      }
    }
  }

  private dispatch(type: number, r: FrameReader): void {
    switch (type) {
      case Rep.OUT: {
        const pid = r.u32();
        const stream = r.u8() === 2 ? 2 : 1;
        const offset = r.u64();
        this.handlers.onOutput({ pid, stream, offset, data: r.rest() });
        return;
      }
      case Rep.EXIT: {
        const pid = r.u32();
        const exitCode = r.i32();
        const signal = r.i32();
        const timedOut = r.u8() === 1;
        this.handlers.onExit({ pid, exitCode, signal, timedOut });
        return;
      }
      case Rep.DATA:
      case Rep.ENTRIES: {
        const req = r.u32();
        this.pending.get(req)?.onPart?.(type, r);
        return;
      }
      case Rep.ERR: {
        const req = r.u32();
        const errno = r.i32();
        const message = r.str();
        const p = this.pending.get(req);
        if (p) {
          this.pending.delete(req);
          p.reject(new SupervisorReplyError(errno, message));
        }
        return;
      }
      default: {
        const req = r.u32();
        const p = this.pending.get(req);
        if (p) {
          this.pending.delete(req);
          const payload = r.rest();
          p.onFinal?.(type, new FrameReader(payload));
          p.resolve({ type, reader: new FrameReader(payload) });
        }
      }
    }
  }

  private shutdown(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    const err = new SupervisorError(
      `connection to rt-init closed${error ? `: ${error.message}` : ''}`,
    );
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.handlers.onClose(error);
  }
}
