import net from 'node:net';
import { SandboxError } from './errors.ts';
import { type ListeningPort, parseListeningPorts } from './listening-ports.ts';
import { SupervisorConnection, SupervisorReplyError } from './supervisor/connection.ts';
import type { SupervisorEndpoint } from './supervisor/endpoint.ts';

export interface PortsContext {
  sandboxId: string;
  endpoint: SupervisorEndpoint;
  /** Makes the sandbox reachable (resumes a paused one); throws if it cannot be. */
  ensureRunning(): Promise<void>;
  /** Throws unless the sandbox is running (without resuming it). */
  assertRunning(operation: string): void;
  /** Reads a file inside the sandbox (its own /proc, so its own network namespace). */
  readFile(path: string): Promise<Buffer>;
}

export interface ExposedPort {
  port: number;
  /** Loopback address on the host that forwards to `port` inside the sandbox. */
  host: string;
  hostPort: number;
  url: string;
  close(): Promise<void>;
}

/**
 * Reaching TCP ports inside a sandbox. rt-init relays each connection to 127.0.0.1:port inside,
 * so this works whatever the sandbox's network mode (even `none`). Relays are cut before a
 * checkpoint (CRIU cannot dump a connection that crosses the sandbox boundary); a new connection
 * to a paused sandbox resumes it first.
 */
export class SandboxPorts {
  private readonly ctx: PortsContext;
  private readonly relays = new Set<net.Socket>();
  private readonly exposed = new Map<number, { server: net.Server; info: ExposedPort }>();

  constructor(ctx: PortsContext) {
    this.ctx = ctx;
  }

  /** A connection to `port` inside the sandbox. */
  async connect(port: number): Promise<net.Socket> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new SandboxError(
        'invalid_options',
        `Port must be an integer from 1 to 65535, got ${port}.`,
      );
    }
    await this.ctx.ensureRunning();
    let socket: net.Socket;
    try {
      socket = await SupervisorConnection.relay(this.ctx.endpoint, port);
    } catch (err) {
      if (err instanceof SupervisorReplyError) {
        throw new SandboxError(
          'port_unreachable',
          `Nothing accepts connections on port ${port} in sandbox ${this.ctx.sandboxId} (${err.message}). Start a server listening on that port inside the sandbox.`,
          { details: { sandboxId: this.ctx.sandboxId, port } },
        );
      }
      throw err;
    }
    this.relays.add(socket);
    socket.once('close', () => this.relays.delete(socket));
    return socket;
  }

  /**
   * The TCP ports something listens on inside the sandbox, from its /proc/net/tcp{,6}: what a
   * dev server opened, to offer as links. A paused sandbox is not resumed to answer.
   */
  async listening(): Promise<ListeningPort[]> {
    this.ctx.assertRunning('list the listening ports of');
    const [tcp, tcp6] = await Promise.all(
      ['/proc/net/tcp', '/proc/net/tcp6'].map((path) =>
        // A kernel without IPv6 has no tcp6 table.
        this.ctx.readFile(path).then(
          (bytes) => bytes.toString('latin1'),
          (error: unknown) => {
            if (path.endsWith('6')) return '';
            throw error;
          },
        ),
      ),
    );
    return parseListeningPorts(tcp ?? '', tcp6 ?? '');
  }

  /** Forwards a loopback port on the host to `port` in the sandbox (for a dev server's URL). */
  async expose(port: number): Promise<ExposedPort> {
    const existing = this.exposed.get(port);
    if (existing) return existing.info;
    const server = net.createServer((client) => {
      client.pause();
      this.connect(port).then(
        (upstream) => {
          client.pipe(upstream).pipe(client);
          client.resume();
          const end = () => {
            client.destroy();
            upstream.destroy();
          };
          client.once('error', end);
          upstream.once('error', end);
          client.once('close', end);
          upstream.once('close', end);
        },
        () => client.destroy(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const hostPort = (server.address() as net.AddressInfo).port;
    const info: ExposedPort = {
      port,
      host: '127.0.0.1',
      hostPort,
      url: `http://127.0.0.1:${hostPort}`,
      close: () => this.unexpose(port),
    };
    this.exposed.set(port, { server, info });
    return info;
  }

  async unexpose(port: number): Promise<void> {
    const e = this.exposed.get(port);
    if (!e) return;
    this.exposed.delete(port);
    await new Promise<void>((r) => e.server.close(() => r()));
  }

  list(): ExposedPort[] {
    return [...this.exposed.values()].map((e) => e.info);
  }

  /**
   * Closes every relayed connection before a checkpoint, and resolves once rt-init has closed its
   * end of each: CRIU cannot dump a unix socket whose peer is gone, and rt-init, frozen right
   * after, would never get to close it. A half-close reaches the server inside, which normally
   * closes in turn; one that does not is cut after `graceMs`.
   */
  async cutRelays(graceMs = 2000): Promise<void> {
    const closing = [...this.relays].map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.destroyed) return resolve();
          const timer = setTimeout(() => s.destroy(), graceMs);
          s.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          s.end();
        }),
    );
    this.relays.clear();
    await Promise.all(closing);
  }

  async closeAll(): Promise<void> {
    await this.cutRelays(0);
    await Promise.all([...this.exposed.keys()].map((p) => this.unexpose(p)));
  }
}
