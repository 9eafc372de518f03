import {
  chmod,
  chown,
  mkdir,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import type {
  DriverSandboxInfo,
  DriverSandboxSpec,
  DriverStatus,
  SandboxDriver,
} from '../../driver.ts';
import { CheckpointError, RuntimeError } from '../../errors.ts';
import { removeTree } from '../../host/remove-tree.ts';
import { runCommand } from '../../host/run-command.ts';
import { syncTree } from '../../host/sync-tree.ts';
import { DEFAULT_DISK_MIB } from '../../options.ts';
import { type BundleSpec, bundleConfig, type IdMap, SOCKET_NAME } from './bundle.ts';
import {
  blockedReason,
  describeProcess,
  failureMessage,
  findBlockedTask,
  GHOST_LIMIT_BYTES,
  parseDumpLog,
} from './checkpoint-failure.ts';
import { formatDiskImage } from './disk-image.ts';
import {
  claimEgress,
  type EgressNetwork,
  egressHook,
  prepareEgress,
  reclaimEgress,
  sandboxResolvConf,
  teardownEgress,
} from './network.ts';
import { Runc } from './runc.ts';
import { SpareDirs } from './spare-dirs.ts';

export interface OciDriverOptions {
  /** Per-sandbox directories live in `<dataDir>/sandboxes/<id>`. */
  dataDir: string;
  supervisorBinary: string;
  criu?: string;
  runc?: string;
  idMap: IdMap;
  /** Disk size of most sandboxes (the engine's default): images of it are formatted ahead. */
  spareDiskMiB?: number;
  /**
   * Sync checkpoint images and the sandbox's disk before a pause returns (default true), so that a
   * paused sandbox survives a power loss; false leaves that to the kernel's writeback (~30 s).
   */
  durablePause?: boolean;
  /** Checkpoint/restore time limit; CRIU's freezer can hang ~10 s on rare occasions. */
  checkpointTimeoutMs?: number;
}

/**
 * Sandboxes as OCI containers run by runc: an overlay of the template (read-only lower) and a
 * per-sandbox upper layer as root, a user namespace mapping sandbox root to an unprivileged host
 * uid, cgroup limits, a seccomp filter, and CRIU (through `runc checkpoint`) for pause/resume.
 */
export class OciDriver implements SandboxDriver {
  readonly name = 'oci';
  private readonly opts: OciDriverOptions;
  private readonly runc: Runc;
  private nofile = 0;
  private readonly spares: SpareDirs;
  private readonly criuConfigFiles = new Map<string, Promise<string>>();

  constructor(options: OciDriverOptions) {
    this.opts = options;
    this.spares = new SpareDirs({
      dir: join(options.dataDir, 'sandboxes'),
      prepare: (dir) => this.prepareDir(dir, this.spareDiskMiB()),
      remove: (dir) => removeTree(dir),
    });
    this.runc = new Runc({
      binary: options.runc,
      stateRoot: join(options.dataDir, 'runc'),
      criu: options.criu,
    });
  }

  socketPath(id: string): string {
    return join(this.dir(id), 'run', SOCKET_NAME);
  }

  async create(spec: DriverSandboxSpec): Promise<DriverSandboxInfo> {
    const dir = this.dir(spec.id);
    try {
      const diskMiB = spec.resources.diskMiB ?? DEFAULT_DISK_MIB;
      const spare = diskMiB === this.spareDiskMiB() && (await this.spares.take(dir));
      if (!spare) await this.prepareDir(dir, diskMiB);
      const disk = join(dir, 'disk');
      await this.mountRoot(spec.id, spec.rootfs);
      let net: EgressNetwork | undefined;
      if (spec.network.mode === 'egress') {
        // The index is host-wide; the record says which one this sandbox holds.
        const claimed = await claimEgress(dir);
        net = claimed;
        await writeFile(join(dir, 'network.json'), JSON.stringify(net)).catch(async (err) => {
          await teardownEgress(claimed, dir);
          throw err;
        });
        await writeFile(join(dir, 'resolv.conf'), await sandboxResolvConf(net));
      }
      await this.writeBundle(spec, join(disk, 'run'), net);
      // The sandbox's namespace is runc's (owned by the sandbox's user namespace, which CRIU
      // requires); runc's hook joins it to the host. Its rules are made meanwhile: until they
      // are, the host refuses its traffic.
      const started = await Promise.allSettled([
        this.runc.run(spec.id, join(dir, 'bundle')),
        net ? prepareEgress(net, spec.network.allowOut) : undefined,
      ]);
      for (const r of started) if (r.status === 'rejected') throw r.reason;
      return { id: spec.id, socketPath: this.socketPath(spec.id) };
    } catch (err) {
      await this.destroy(spec.id).catch(() => {});
      throw err;
    } finally {
      this.spares.refill();
    }
  }

  async checkpoint(id: string): Promise<{ snapshotBytes: number }> {
    const dir = this.dir(id);
    const image = join(dir, 'checkpoint');
    await rm(image, { recursive: true, force: true });
    await rm(join(dir, 'checkpoint.work'), { recursive: true, force: true });
    // CRIU cannot seize a traced or stopped process: it would try for 10 s with the sandbox
    // frozen, and fail.
    const blocked = await findBlockedTask(`/sys/fs/cgroup/freezer/runtools/${id}/tasks`);
    if (blocked) {
      const reason = blockedReason(blocked);
      throw new CheckpointError(
        id,
        'pause',
        failureMessage({ reason, permanent: true, errors: [] }, blocked.task),
        { pid: blocked.task.pid, comm: blocked.task.comm },
      );
    }
    // Freeze first: with cgroup v1 CRIU's own freezing polls every 100 ms; an already frozen
    // cgroup skips that wait (checkpoint ~170 ms instead of ~250 ms).
    await this.freeze(id, true);
    const dumpLog = join(dir, 'checkpoint.work', 'dump.log');
    let r = await this.runc.checkpoint(id, image, join(dir, 'checkpoint.work'), this.ckptTimeout());
    let failure = r.code === 0 ? undefined : parseDumpLog(await readText(dumpLog));
    if (failure && !failure.permanent) {
      // A failed dump leaves the container running, so one retry is safe (a rare freezer hang);
      // a process CRIU cannot dump would fail the same way again.
      const state = await this.runc.state(id);
      if (state?.status === 'running' || state?.status === 'paused') {
        await this.freeze(id, true).catch(() => {});
        r = await this.runc.checkpoint(id, image, join(dir, 'checkpoint.work'), this.ckptTimeout());
        failure = r.code === 0 ? undefined : parseDumpLog(await readText(dumpLog));
      }
    }
    if (failure) {
      await this.freeze(id, false).catch(() => {});
      const process = failure.hostPid
        ? await describeProcess(failure.hostPid, failure.comm)
        : undefined;
      const message =
        failure.reason || failure.errors.length
          ? failureMessage(failure, process)
          : `${r.stderr.trim().split('\n').at(-1) ?? 'runc checkpoint failed'}. The sandbox keeps running.`;
      throw new CheckpointError(id, 'pause', message, {
        ...(process?.pid === undefined ? {} : { pid: process.pid }),
        ...(process?.comm === undefined ? {} : { comm: process.comm }),
        criu: failure.errors,
      });
    }
    await this.protectImages(id);
    if (this.opts.durablePause !== false) {
      // "Paused" means it survives a power loss: the images and the sandbox's own disk.
      await Promise.all([syncTree(image), this.syncDisk(id)]);
    }
    return { snapshotBytes: await dirSize(image) };
  }

  /**
   * Checkpoint images hold the sandbox's memory (its secrets, env values included): readable by
   * root and by the sandbox's own root group only (dirs 0750, files 0640, group = the sandbox's
   * mapped root). CRIU opens some images from inside the user namespace as the sandbox's root
   * and others as host root without capabilities: neither owner alone works, so the group does.
   * The logs of the dump and restore stay root's alone.
   */
  private async protectImages(id: string): Promise<void> {
    const dir = this.dir(id);
    const group = this.opts.idMap.hostId;
    const image = join(dir, 'checkpoint');
    const owner = await runCommand('chown', ['-R', `0:${group}`, image]);
    const mode = await runCommand('chmod', ['-R', 'u=rwX,g=rX,o=', image]);
    for (const r of [owner, mode]) {
      if (r.code !== 0)
        throw new CheckpointError(id, 'pause', `protecting the images: ${r.stderr}`);
    }
    await chmod(join(dir, 'checkpoint.work'), 0o700).catch(() => {});
  }

  /** Writes the sandbox's disk out: its file system, then the image file under it. */
  private async syncDisk(id: string): Promise<void> {
    const mnt = join(this.dir(id), 'disk');
    if (!(await isMountPoint(mnt))) return;
    // syncfs of the loop-mounted file system ends with a flush of the loop device, which the
    // loop driver turns into an fsync of disk.img.
    const r = await runCommand('sync', ['-f', mnt]);
    if (r.code !== 0) throw new CheckpointError(id, 'pause', `syncing the disk: ${r.stderr}`);
  }

  async restore(id: string, spec: DriverSandboxSpec): Promise<DriverSandboxInfo> {
    const dir = this.dir(id);
    await this.mountRoot(id, spec.rootfs); // after a host reboot the overlay is gone
    const net = await this.reclaimNet(id);
    if (net) await prepareEgress(net, spec.network.allowOut, { again: true });
    else await this.loopbackOnRestore(id);
    await rm(join(dir, 'restore.work'), { recursive: true, force: true });
    await mkdir(join(dir, 'restore.work'));
    const r = await this.runc.restore(
      id,
      join(dir, 'bundle'),
      join(dir, 'checkpoint'),
      join(dir, 'restore.work'),
      this.ckptTimeout(),
    );
    if (r.code !== 0) {
      const log = await readFile(join(dir, 'restore.work', 'restore.log'), 'utf8').catch(() => '');
      await this.runc.delete(id).catch(() => {});
      throw new CheckpointError(id, 'resume', `${r.stderr}\n${lastErrors(log)}`);
    }
    return { id, socketPath: this.socketPath(id) };
  }

  /**
   * runc has CRIU restore a namespace it created as an empty one: loopback comes back down and
   * without 127.0.0.1. Servers inside could no longer be reached, and CRIU could not reconnect a
   * TCP connection over loopback (`Can't connect inet socket back: Network is unreachable`,
   * failing the resume). A `createRuntime` hook, which runc runs at CRIU's setup-namespaces,
   * before any socket comes back, brings it up. (An egress sandbox's hook does that and joins
   * the namespace to the host.) Added to the bundle at restore, so create pays nothing for it.
   */
  private async loopbackOnRestore(id: string): Promise<void> {
    const file = join(this.dir(id), 'bundle', 'config.json');
    const config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...config, ...loopbackHooks() }));
  }

  async destroy(id: string): Promise<void> {
    const dir = this.dir(id);
    await this.runc.delete(id);
    const net = await this.readNet(id);
    if (net) await teardownEgress(net, dir);
    await this.unmountRoot(id);
    await removeTree(dir);
    await rm(`/sys/fs/cgroup/unified/runtools/${id}`, { recursive: true, force: true }).catch(
      () => {},
    );
  }

  async status(id: string): Promise<DriverStatus> {
    const s = await this.runc.state(id);
    if (s?.status === 'running') return 'running';
    if (s?.status === 'paused') return 'frozen';
    if (s) return 'missing';
    const ckpt = await stat(join(this.dir(id), 'checkpoint', 'inventory.img')).catch(() => null);
    return ckpt ? 'checkpointed' : 'missing';
  }

  async supervisorPid(id: string): Promise<number | undefined> {
    // runc's own state file (host-only, below its state root): no runc process per connection.
    const text = await readFile(join(this.runc.stateRoot, id, 'state.json'), 'utf8').catch(
      () => null,
    );
    const pid = text ? (JSON.parse(text) as { init_process_pid?: number }).init_process_pid : 0;
    return pid || (await this.runc.state(id))?.pid || undefined;
  }

  async thaw(id: string): Promise<void> {
    await this.freeze(id, false);
  }

  async revive(id: string): Promise<void> {
    await this.runc.kill(id, 'SIGHUP');
  }

  async removeOrphans(keep: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const c of await this.runc.list().catch(() => [])) {
      if (!keep.has(c.id)) {
        await this.destroy(c.id).catch(() => {});
        removed.push(c.id);
      }
    }
    const ids = await readdir(join(this.opts.dataDir, 'sandboxes')).catch(() => [] as string[]);
    for (const id of ids) {
      if (id.startsWith('.spare-')) {
        await removeTree(this.dir(id)).catch(() => {}); // a previous engine's spare
      } else if (!keep.has(id) && !removed.includes(id)) {
        await this.destroy(id).catch(() => {});
        removed.push(id);
      }
    }
    this.spares.refill();
    return removed;
  }

  async close(): Promise<void> {
    await this.spares.close();
  }

  private dir(id: string): string {
    return join(this.opts.dataDir, 'sandboxes', id);
  }

  private ckptTimeout(): number {
    return this.opts.checkpointTimeoutMs ?? 15_000;
  }

  private async freeze(id: string, frozen: boolean): Promise<void> {
    const file = `/sys/fs/cgroup/freezer/runtools/${id}/freezer.state`;
    try {
      await writeFile(file, frozen ? 'FROZEN' : 'THAWED');
      if (!frozen) return;
      for (let i = 0; i < 200; i++) {
        if ((await readFile(file, 'utf8')).trim() === 'FROZEN') return;
        await new Promise((r) => setTimeout(r, 1));
      }
    } catch {
      // No v1 freezer (cgroup v2 host): runc's own commands do the same thing, a bit slower.
      if (frozen) await this.runc.pause(id);
      else await this.runc.resume(id);
    }
  }

  private spareDiskMiB(): number {
    return this.opts.spareDiskMiB ?? DEFAULT_DISK_MIB;
  }

  /**
   * Makes a sandbox's directory (a spare one ahead of time, or at create): the sandbox's own file
   * system, a sparse ext4 image of `diskMiB` loop-mounted at `<dir>/disk`, holding the overlay's
   * upper and work dirs and rt-init's socket dir (a sandbox can write there too). A sandbox that
   * fills it gets ENOSPC and the host's disk never fills: it costs the host at most `diskMiB`.
   */
  private async prepareDir(dir: string, diskMiB: number): Promise<void> {
    const host = this.opts.idMap.hostId;
    await mkdir(join(dir, 'bundle'), { recursive: true });
    // Traversable by the sandbox's root (runc and CRIU reach the root and mounts as that user),
    // not listable: the record and checkpoint beside them are root's.
    await chmod(dir, 0o711);
    await mkdir(join(dir, 'rootfs'));
    await formatDiskImage(join(dir, 'disk.img'), diskMiB);
    const disk = await this.layerDir(dir);
    await Promise.all(['upper', 'work', 'run'].map((d) => mkdir(join(disk, d))));
    // The upper dir is the sandbox's "/": owned by the sandbox's root, or "/" shows as nobody.
    await chown(join(disk, 'upper'), host, host);
    await chown(join(disk, 'run'), host, host);
    // The host reaches rt-init's socket as `<dir>/run`, as for sandboxes made before quotas.
    await symlink(join('disk', 'run'), join(dir, 'run'));
  }

  /**
   * Where the writable layer lives: the mounted disk image (mounted again after a host reboot),
   * or, for a sandbox made before every sandbox had a quota, the sandbox's directory itself.
   */
  private async layerDir(dir: string): Promise<string> {
    const image = join(dir, 'disk.img');
    if (!(await stat(image).catch(() => null))) return dir;
    const mnt = join(dir, 'disk');
    if (await isMountPoint(mnt)) return mnt;
    await mkdir(mnt, { recursive: true });
    // noinit_itable: no background zeroing of inode tables, which would write ~64 MiB per 4 GiB
    // into the image (a sparse file reads as zeros already).
    const m = await runCommand('mount', ['-o', 'loop,nosuid,nodev,noinit_itable', image, mnt]);
    if (m.code !== 0) throw new RuntimeError('mount sandbox disk', m.stderr, { dir });
    // Direct I/O from the loop device to the image: otherwise every block the sandbox's file
    // system reads or writes is cached twice, as the device's and as the image file's (~3.7 MiB
    // per idle sandbox here). Only a cache: a file system that refuses O_DIRECT just keeps it.
    const device = await mountSource(mnt);
    if (device?.startsWith('/dev/loop')) await runCommand('losetup', ['--direct-io=on', device]);
    return mnt;
  }

  private async mountRoot(id: string, lower: string): Promise<void> {
    const dir = this.dir(id);
    const merged = join(dir, 'rootfs');
    if (await isMountPoint(merged)) return;
    const layers = await this.layerDir(dir);
    const r = await runCommand('mount', [
      '-t',
      'overlay',
      'overlay',
      '-o',
      // nodev: a device node made inside (mknod needs no capability in a user namespace's
      // mounts, but opening one must never reach a host device).
      `nodev,lowerdir=${lower},upperdir=${join(layers, 'upper')},workdir=${join(layers, 'work')}`,
      merged,
    ]);
    if (r.code !== 0) throw new RuntimeError('mount overlay', r.stderr, { id });
  }

  private async unmountRoot(id: string): Promise<void> {
    for (const path of [join(this.dir(id), 'rootfs'), join(this.dir(id), 'disk')]) {
      while (await isMountPoint(path)) {
        // Lazy: a process that has not quite died yet may still hold the mount.
        const r = await runCommand('umount', ['-l', path]);
        if (r.code !== 0) throw new RuntimeError('umount', r.stderr, { id });
      }
    }
  }

  private async writeBundle(
    spec: DriverSandboxSpec,
    socketDir: string,
    net?: EgressNetwork,
  ): Promise<void> {
    const dir = this.dir(spec.id);
    const bundle: BundleSpec = {
      id: spec.id,
      rootPath: join(dir, 'rootfs'),
      hostname: spec.hostname,
      supervisorBinary: this.opts.supervisorBinary,
      socketDir,
      idMap: this.opts.idMap,
      resources: spec.resources,
      volumes: spec.volumes.map((v) => ({
        source: v.hostPath,
        destination: v.mountPath,
        readOnly: v.readOnly,
      })),
      nofileHardLimit: await this.nofileLimit(),
      ...(net ? { resolvConf: join(dir, 'resolv.conf') } : {}),
    };
    const config = {
      ...bundleConfig(bundle),
      // runc hands this file to CRIU for every checkpoint and restore of the sandbox.
      annotations: { 'org.criu.config': await this.criuConfig(net === undefined) },
      ...(net ? egressHooks(net) : {}),
    };
    await writeFile(join(dir, 'bundle', 'config.json'), JSON.stringify(config));
  }

  /**
   * CRIU's options beyond what runc passes (`<dataDir>/criu.conf`). `ghost-limit`: a deleted file
   * a process keeps open (Python's `tempfile.TemporaryFile`, say) is copied into the checkpoint;
   * CRIU's default of 1 MiB would make pausing such a sandbox fail.
   *
   * A sandbox without a network (`criu-no-network.conf`) also skips CRIU's network lock: the lock
   * keeps packets away from TCP sockets while they are repaired, but such a sandbox's namespace
   * has only loopback, whose every sender is a process being restored. Locking and unlocking
   * (iptables in the namespace) cost about a third of a resume.
   */
  private criuConfig(noNetwork: boolean): Promise<string> {
    const name = noNetwork ? 'criu-no-network.conf' : 'criu.conf';
    let file = this.criuConfigFiles.get(name);
    if (file === undefined) {
      file = (async () => {
        const path = join(this.opts.dataDir, name);
        const text = [
          "# Written by RunTools: CRIU options for its sandboxes (runc's org.criu.config).",
          `ghost-limit ${GHOST_LIMIT_BYTES / 1024 / 1024}M`,
          ...(noNetwork ? ['network-lock skip'] : []),
          '',
        ].join('\n');
        await writeFile(path, text, { mode: 0o644 });
        return path;
      })();
      this.criuConfigFiles.set(name, file);
    }
    return file;
  }

  private async readNet(id: string): Promise<EgressNetwork | undefined> {
    const text = await readFile(join(this.dir(id), 'network.json'), 'utf8').catch(() => null);
    return text ? (JSON.parse(text) as EgressNetwork) : undefined;
  }

  /**
   * The network index of a sandbox being restored: its own (a pause keeps the claim), or a new
   * one after a host reboot gave it to another sandbox; the bundle's hook is made for it.
   */
  private async reclaimNet(id: string): Promise<EgressNetwork | undefined> {
    const old = await this.readNet(id);
    if (!old) return undefined;
    const net = await reclaimEgress(old, this.dir(id));
    if (net !== old) await writeFile(join(this.dir(id), 'network.json'), JSON.stringify(net));
    const file = join(this.dir(id), 'bundle', 'config.json');
    const config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...config, ...egressHooks(net) }));
    return net;
  }

  private async nofileLimit(): Promise<number> {
    if (!this.nofile) {
      const limits = await readFile('/proc/self/limits', 'utf8');
      const m = /Max open files\s+\S+\s+(\S+)/.exec(limits);
      this.nofile = m?.[1] && m[1] !== 'unlimited' ? Math.min(Number(m[1]), 1 << 20) : 1 << 20;
    }
    return this.nofile;
  }
}

/** The pid in the OCI state runc writes to a hook's stdin. */
const HOOK_PID = `$(tr -d ' \\n' | sed -n 's/.*"pid":\\([0-9][0-9]*\\).*/\\1/p')`;

/** Brings up loopback in the namespace of the container a hook is run for. */
function loopbackHooks() {
  const script = `exec nsenter --net=/proc/${HOOK_PID}/ns/net ip link set lo up`;
  return {
    hooks: { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', script], timeout: 30 }] },
  };
}

/** runc runs `createRuntime` hooks at create and, during a restore, at CRIU's setup-namespaces. */
function egressHooks(net: EgressNetwork) {
  return { hooks: { createRuntime: [egressHook(net)] } };
}

/** The source (device) of the mount at `path`, from mountinfo. */
async function mountSource(path: string): Promise<string | undefined> {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  const line = mounts.split('\n').find((l) => l.split(' ')[4] === path);
  return line?.split(' - ')[1]?.split(' ')[1];
}

async function isMountPoint(path: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  return mounts.split('\n').some((l) => l.split(' ')[4] === path);
}

async function dirSize(path: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(path, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).blocks * 512;
  }
  return total;
}

function readText(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

function lastErrors(log: string): string {
  return log
    .split('\n')
    .filter((l) => /Error|error/.test(l) && !/RLIMIT_NOFILE/.test(l))
    .slice(-8)
    .join('\n');
}
