import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import net from 'node:net';
import { SupervisorError } from '../errors.ts';
import { peerCred } from '../host/peer-cred.ts';

/**
 * Where the engine reaches one sandbox's rt-init. The socket file lies in a directory that the
 * sandbox can write to (`/.rt/run` inside), so its name proves nothing: a process inside could
 * put a symlink there to another sandbox's socket or to a host socket, or listen there itself.
 */
export interface SupervisorEndpoint {
  /** The socket file on the host. */
  readonly path: string;
  /** Host pid of the sandbox's init (rt-init); undefined while the sandbox does not run. */
  initPid(): Promise<number | undefined>;
  /** Asks rt-init to listen on a fresh socket file (after the old one was removed or replaced). */
  revive(): Promise<void>;
}

// Linux (x86-64 and arm64); Node does not export it. libuv opens every file close-on-exec.
const O_PATH = 0o10000000;

/** The socket file is not rt-init's: a symlink, not a socket, or another process listens. */
class RefusedSocket extends Error {}

/**
 * Connects to rt-init and to nothing else: the socket file is opened without following a symlink
 * (O_PATH | O_NOFOLLOW) and must be a socket; the connection goes through that open file
 * (`/proc/self/fd/N`), so the name cannot be swapped between the check and the connect; and the
 * kernel must say (SO_PEERCRED) that the sandbox's init listens at the other end. A refused
 * socket makes rt-init listen afresh (once), as a deleted one does; until `timeoutMs` the
 * connection is retried while rt-init is not listening yet.
 */
export async function connectSupervisor(
  endpoint: SupervisorEndpoint,
  timeoutMs: number,
): Promise<net.Socket> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  let revived = false;
  for (;;) {
    try {
      return await connectOnce(endpoint);
    } catch (err) {
      if (err instanceof RefusedSocket && !revived) {
        revived = true;
        await endpoint.revive().catch(() => {});
      }
      if (Date.now() >= deadline) {
        throw new SupervisorError(
          err instanceof RefusedSocket
            ? `Refused to connect to ${endpoint.path}: ${err.message}. A process in the sandbox replaced rt-init's socket; the engine talks only to the sandbox's own rt-init.`
            : `rt-init did not accept a connection on ${endpoint.path}`,
          { cause: String(err) },
        );
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 20);
    }
  }
}

async function connectOnce(endpoint: SupervisorEndpoint): Promise<net.Socket> {
  const file = await open(endpoint.path, O_PATH | constants.O_NOFOLLOW);
  let socket: net.Socket;
  try {
    const st = await file.stat();
    if (!st.isSocket()) {
      throw new RefusedSocket(`it is ${st.isSymbolicLink() ? 'a symlink' : 'not a socket'}`);
    }
    socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.createConnection(`/proc/self/fd/${file.fd}`);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
  } finally {
    await file.close();
  }
  try {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (fd === undefined || fd < 0) throw new Error('no file descriptor for the connection');
    const { pid } = peerCred(fd);
    const init = await endpoint.initPid();
    if (!init || pid !== init) {
      throw new RefusedSocket(
        `pid ${pid} listens there, not the sandbox's init (${init ?? 'not running'})`,
      );
    }
  } catch (err) {
    socket.destroy();
    throw err;
  }
  return socket;
}
