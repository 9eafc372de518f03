import { createRequire } from 'node:module';
import { HostPrerequisiteError } from '../errors.ts';
import { NATIVE_BUILD_FIX, PEER_CRED_ADDON } from './native-build.ts';

/** Who listens at the other end of a connected unix socket, as the host sees it. */
export interface PeerCred {
  /** Host pid of the process that called listen() (0 when it has exited). */
  pid: number;
  uid: number;
  gid: number;
}

export { PEER_CRED_ADDON };

let addon: { peerCred(fd: number): PeerCred } | undefined;

/** Loads the SO_PEERCRED addon; throws `host_prerequisite` when it was not built. */
export function loadPeerCred(): void {
  if (addon) return;
  try {
    addon = createRequire(import.meta.url)(PEER_CRED_ADDON) as typeof addon;
  } catch (err) {
    throw new HostPrerequisiteError(
      `The engine's socket check (${PEER_CRED_ADDON}) is not built or does not load`,
      NATIVE_BUILD_FIX,
      err,
    );
  }
}

/** SO_PEERCRED of a connected unix socket's file descriptor. */
export function peerCred(fd: number): PeerCred {
  loadPeerCred();
  return (addon as NonNullable<typeof addon>).peerCred(fd);
}
