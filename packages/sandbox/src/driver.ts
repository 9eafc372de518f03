/**
 * The narrow interface between the engine and a way of running sandboxes. The engine owns ids,
 * states, timeouts, the warm pool and the supervisor connection; a driver only turns a spec into
 * a running sandbox whose rt-init listens on `socketPath`, and checkpoints, restores and removes
 * it. `oci` (runc + CRIU) is the Linux driver; others (docker, microvm, kubernetes) add a folder
 * under drivers/ and change nothing above this interface.
 */
export interface DriverSandboxSpec {
  id: string;
  /** The template's root filesystem, used read-only as the lower layer. */
  rootfs: string;
  hostname: string;
  /** `diskMiB`: the writable layer's size limit (none when absent). */
  resources: { cpu: number; memoryMiB: number; pids: number; diskMiB?: number };
  network: { mode: 'none' | 'egress'; allowOut?: string[] };
  volumes: Array<{ hostPath: string; mountPath: string; readOnly: boolean }>;
}

export interface DriverSandboxInfo {
  id: string;
  /** Unix socket of the sandbox's rt-init, reachable from the host. */
  socketPath: string;
}

export type DriverStatus = 'running' | 'frozen' | 'checkpointed' | 'missing';

export interface SandboxDriver {
  readonly name: string;
  /** Creates and starts a sandbox; on failure nothing of it is left on the host. */
  create(spec: DriverSandboxSpec): Promise<DriverSandboxInfo>;
  /** Checkpoints the whole process tree to disk and stops it, freeing its memory. */
  checkpoint(id: string): Promise<{ snapshotBytes: number }>;
  /** Restores a checkpointed sandbox; its rt-init listens again on the same socket. */
  restore(id: string, spec: DriverSandboxSpec): Promise<DriverSandboxInfo>;
  /** Removes everything of the sandbox from the host (processes, mounts, network, files). */
  destroy(id: string): Promise<void>;
  /** What the host says about a sandbox now (for recovery after an engine restart). */
  status(id: string): Promise<DriverStatus>;
  /** Unfreezes a sandbox left frozen (an engine died between freeze and checkpoint). */
  thaw(id: string): Promise<void>;
  /** Asks the sandbox's rt-init to listen again (its socket file was removed from inside). */
  revive(id: string): Promise<void>;
  /** Removes whatever the driver finds on the host that belongs to none of `keep`. */
  removeOrphans(keep: ReadonlySet<string>): Promise<string[]>;
  socketPath(id: string): string;
  /**
   * Host pid of the sandbox's init (rt-init) while it runs. The socket lies where the sandbox can
   * write, so the engine talks only to a socket that this process listens on (SO_PEERCRED).
   */
  supervisorPid(id: string): Promise<number | undefined>;
  /** Stops background work (the engine is closing); sandboxes keep running. */
  close?(): Promise<void>;
}
