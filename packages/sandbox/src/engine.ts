import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DriverSandboxSpec, SandboxDriver } from './driver.ts';
import type { IdMap } from './drivers/oci/bundle.ts';
import { openOciDriver } from './drivers/oci/open-oci-driver.ts';
import { SandboxError, SandboxNotFoundError, SandboxStateError } from './errors.ts';
import { isAlive } from './host/is-alive.ts';
import { loadPeerCred } from './host/peer-cred.ts';
import { assertIdRangeReserved, type SubordinateIdFiles } from './host/subid-range.ts';
import {
  type CreateSandboxInput,
  type CreateSandboxOptions,
  createOptionsSchema,
  DEFAULT_DISK_MIB,
  parseOptions,
  resourcesSchema,
} from './options.ts';
import { Sandbox, type SandboxHost, type SandboxInfo } from './sandbox.ts';
import { type SandboxRecord, SandboxRecordStore } from './sandbox-record.ts';
import {
  type TemplateInfo,
  TemplateStore,
  type TemplateStoreOptions,
} from './templates/template-store.ts';
import { VolumeStore } from './volumes.ts';
import { WarmPool } from './warm-pool.ts';

export interface SandboxEngineOptions {
  /** Sandboxes, volumes and runtime state (default /var/lib/runtools). */
  dataDir?: string;
  /** Built templates; may be shared by several engines (default `<dataDir>/templates`). */
  templatesDir?: string;
  /** Package sources for template builds (mirrors, npm registry, pip index). */
  templateSources?: Pick<TemplateStoreOptions, 'mirrors' | 'npmRegistry' | 'pipIndexUrl'>;
  /** Warm sandboxes kept ready per template, e.g. `{ 'debian-13': 2 }`. */
  pool?: Record<string, number>;
  /** Host uid/gid range that sandbox uids map to (default 100000, 65536 ids). */
  idMap?: IdMap;
  /**
   * Disk quota of a sandbox that sets no `resources.diskMiB` (default `DEFAULT_DISK_MIB`, 4 GiB):
   * what it may write on top of its template, `/.rt/run` included.
   */
  diskMiB?: number;
  /**
   * A pause returns once the checkpoint images, the sandbox's disk and its record are synced to
   * disk, so a paused sandbox survives a power loss (default true). With false a pause is a few
   * ms faster on an idle disk (more on a busy one) and what the kernel had not written back
   * yet (up to ~30 s of it) is lost with the power.
   */
  durablePause?: boolean;
  /**
   * The host's subordinate id files (default /etc/subuid and /etc/subgid). The engine refuses to
   * open when they give part of `idMap`'s range to another user than `runtools`.
   */
  subordinateIdFiles?: SubordinateIdFiles;
  /** Path of rt-init (default: the package's native/build/rt-init). */
  supervisorBinary?: string;
  /** CRIU >= 4 (default: found by `findCriu`). */
  criu?: string;
  /** The runc executable (default: `RUNTOOLS_RUNC`, else setup's private runc, else `runc`). */
  runc?: string;
  /** Use another driver (the default is `oci`, runc + CRIU). */
  driver?: SandboxDriver;
  /** Called for events worth a log line (timeouts, recovery); the engine never prints. */
  onEvent?: (event: EngineEvent) => void;
}

export type EngineEvent =
  | { type: 'timeout'; sandboxId: string; action: 'pause' | 'kill' }
  | { type: 'timeout_failed'; sandboxId: string; error: string }
  | { type: 'recovered'; sandboxId: string; state: string }
  | { type: 'orphan_removed'; sandboxId: string }
  | { type: 'pool_error'; template: string; error: string }
  | { type: 'template_gc_failed'; error: string };

const MAX_TIMER = 2 ** 31 - 1;

/**
 * Creates, finds and removes sandboxes. One engine owns a data directory; open it with
 * `SandboxEngine.open()`, which also re-lists sandboxes left by a previous engine (paused ones
 * stay paused, running ones are re-attached) and removes whatever a crashed engine left half-made.
 *
 * ```ts
 * await using engine = await SandboxEngine.open({ dataDir: '/var/lib/runtools' });
 * await using sbx = await engine.create({ template: 'debian-13' });
 * const { stdout } = await sbx.exec('echo hello');
 * ```
 */
export class SandboxEngine {
  readonly templates: TemplateStore;
  readonly volumes: VolumeStore;
  readonly dataDir: string;
  private readonly driver: SandboxDriver;
  private readonly records: SandboxRecordStore;
  private readonly sandboxes = new Map<string, Sandbox>();
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; at: Date }>();
  private readonly pool: WarmPool;
  private readonly onEvent: (e: EngineEvent) => void;
  private readonly lockFile: string;
  private readonly diskMiB: number;
  private readonly durablePause: boolean;
  private closed = false;

  private constructor(
    options: SandboxEngineOptions & { dataDir: string; driver: SandboxDriver; idMap: IdMap },
  ) {
    this.dataDir = options.dataDir;
    this.driver = options.driver;
    this.host.driver = options.driver;
    this.onEvent = options.onEvent ?? (() => {});
    this.diskMiB = options.diskMiB ?? DEFAULT_DISK_MIB;
    this.durablePause = options.durablePause ?? true;
    this.records = new SandboxRecordStore(this.dataDir);
    this.templates = new TemplateStore({
      dir: options.templatesDir ?? join(this.dataDir, 'templates'),
      idBase: options.idMap.hostId,
      ...options.templateSources,
    });
    this.volumes = new VolumeStore(this.dataDir, options.idMap.hostId, (name) =>
      [...this.sandboxes.values()]
        .filter((s) => s.state !== 'stopped' && s.data.volumes.some((v) => v.name === name))
        .map((s) => s.id),
    );
    this.pool = new WarmPool({
      sizes: options.pool ?? {},
      boot: (template) => this.boot(template, undefined, true),
      onError: (template, err) =>
        this.onEvent({
          type: 'pool_error',
          template,
          error: String((err as Error).message ?? err),
        }),
    });
    this.lockFile = join(this.dataDir, 'engine.lock');
  }

  /** Opens the engine on a data directory and recovers what a previous engine left there. */
  static async open(options: SandboxEngineOptions = {}): Promise<SandboxEngine> {
    const dataDir = options.dataDir ?? '/var/lib/runtools';
    const idMap = options.idMap ?? { hostId: 100_000, size: 65_536 };
    if (options.diskMiB !== undefined) {
      parseOptions(
        resourcesSchema.pick({ diskMiB: true }),
        { diskMiB: options.diskMiB },
        'engine options',
      );
    }
    loadPeerCred();
    await assertIdRangeReserved(idMap, options.subordinateIdFiles);
    await mkdir(join(dataDir, 'sandboxes'), { recursive: true });
    // Sandbox roots live below the data dir and are entered as the sandbox's (unprivileged) root:
    // the directory must be traversable by others (a 0700 dir from mkdtemp is not).
    const st = await stat(dataDir);
    if (!(st.mode & 0o001)) await chmod(dataDir, (st.mode & 0o7777) | 0o711);
    const driver =
      options.driver ??
      (await openOciDriver({
        dataDir,
        idMap,
        runc: options.runc,
        criu: options.criu,
        supervisorBinary: options.supervisorBinary,
        durablePause: options.durablePause,
        spareDiskMiB: options.diskMiB ?? DEFAULT_DISK_MIB,
      }));
    const engine = new SandboxEngine({ ...options, dataDir, driver, idMap });
    await engine.lock();
    try {
      await engine.recover();
    } catch (err) {
      await engine.unlock();
      throw err;
    }
    engine.pool.start();
    return engine;
  }

  /**
   * Creates a sandbox from a template and starts it. From a warm pool this is a claim of an
   * already running sandbox; otherwise it boots one (~50 ms with a built template).
   */
  async create(input: CreateSandboxInput): Promise<Sandbox> {
    this.assertOpen();
    const options = parseOptions(createOptionsSchema, input, 'sandbox options');
    for (const v of options.volumes) await this.volumes.get(v.name);
    const warm = isPoolable(options, this.diskMiB) ? this.pool.take(options.template) : undefined;
    if (warm) {
      this.pooledIds.delete(warm.id);
      await warm.update({
        env: { ...warm.data.env, ...options.env },
        cwd: options.cwd ?? warm.data.cwd,
        metadata: options.metadata,
        timeoutMs: options.timeoutMs,
        onTimeout: options.onTimeout,
      });
      this.sandboxes.set(warm.id, warm);
      this.armTimeout(warm);
      return warm;
    }
    const sbx = await this.boot(options.template, options);
    this.sandboxes.set(sbx.id, sbx);
    this.armTimeout(sbx);
    return sbx;
  }

  /** The sandbox with this id (running, paused or just stopped). */
  get(id: string): Sandbox {
    const s = this.sandboxes.get(id);
    if (!s) throw new SandboxNotFoundError(String(id));
    return s;
  }

  list(filter: { metadata?: Record<string, string>; state?: string } = {}): SandboxInfo[] {
    return [...this.sandboxes.values()]
      .filter((s) => s.state !== 'stopped')
      .filter((s) => !filter.state || s.state === filter.state)
      .filter((s) =>
        Object.entries(filter.metadata ?? {}).every(([k, v]) => s.data.metadata[k] === v),
      )
      .map((s) => s.info());
  }

  async delete(id: string): Promise<void> {
    await this.get(id).delete();
  }

  /** Template versions that running or paused sandboxes use (`slug@version`). */
  templatesInUse(): Set<string> {
    return new Set(
      [...this.sandboxes.values(), ...this.pool.all()]
        .filter((s) => s.state !== 'stopped')
        .map((s) => `${s.data.template}@${s.data.templateVersion}`),
    );
  }

  /** Removes template versions that are not current and that no sandbox uses any more. */
  collectTemplates(): Promise<string[]> {
    return this.templates.gc(this.templatesInUse());
  }

  /** Fills the warm pool now and waits until it is full (it otherwise fills in the background). */
  async warmUp(): Promise<void> {
    await this.pool.fill();
  }

  /**
   * Stops timers and the warm pool and releases the data directory. Sandboxes keep running (or
   * stay paused) and are picked up by the next engine that opens this directory.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    if (this.gcTimer) clearTimeout(this.gcTimer);
    await this.pool.drain();
    await this.driver.close?.();
    for (const s of this.sandboxes.values()) {
      await s.ports.closeAll();
      s.release();
    }
    await this.unlock();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async boot(
    template: string,
    options?: CreateSandboxOptions,
    pooled = false,
  ): Promise<Sandbox> {
    const opts = options ?? parseOptions(createOptionsSchema, { template }, 'sandbox options');
    const tpl = await this.templates.get(template);
    const now = new Date().toISOString();
    const record: SandboxRecord = {
      id: `sbx_${randomBytes(8).toString('hex')}`,
      state: 'creating',
      template: tpl.slug,
      templateVersion: tpl.version,
      rootfs: tpl.rootfs,
      createdAt: now,
      updatedAt: now,
      env: { ...tpl.env, ...opts.env },
      cwd: opts.cwd ?? tpl.cwd,
      metadata: opts.metadata,
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      onTimeout: opts.onTimeout,
      resources: { ...opts.resources, diskMiB: opts.resources.diskMiB ?? this.diskMiB },
      network: opts.network,
      volumes: opts.volumes,
    };
    const sbx = new Sandbox(record, this.host);
    if (pooled) this.pooledIds.add(record.id);
    await this.driver.create(this.driverSpec(record));
    try {
      await sbx.attach();
      await sbx.update({ state: 'running' });
      if (tpl.startCmd) await startTemplateService(sbx, tpl);
    } catch (err) {
      this.pooledIds.delete(record.id);
      await this.driver.destroy(record.id).catch(() => {});
      throw err;
    }
    return sbx;
  }

  private driverSpec(record: SandboxRecord): DriverSandboxSpec {
    return {
      id: record.id,
      rootfs: record.rootfs,
      hostname: record.id.replace(/_/g, '-').slice(0, 63),
      resources: record.resources,
      network: record.network,
      volumes: record.volumes.map((v) => ({
        hostPath: join(this.dataDir, 'volumes', v.name, 'data'),
        mountPath: v.mountPath,
        readOnly: v.readOnly,
      })),
    };
  }

  private readonly pooledIds = new Set<string>();
  private readonly host: SandboxHost = {
    driver: undefined as unknown as SandboxDriver, // set in the constructor
    persist: async (record) => {
      // A warm sandbox belongs to nobody yet: not persisted, so a restart simply removes it.
      // A pause is durable (see `durablePause`): its record too.
      if (!this.pooledIds.has(record.id)) {
        await this.records.save(record, {
          durable: this.durablePause && record.state === 'paused',
        });
      }
    },
    forget: (id) => {
      // Keep the stopped object reachable briefly so callers holding the id get a clear state.
      setTimeout(() => this.sandboxes.delete(id), 60_000).unref();
      this.scheduleTemplateGc();
    },
    driverSpec: (record) => this.driverSpec(record),
    armTimeout: (s) => this.armTimeout(s),
    disarmTimeout: (id) => this.disarmTimeout(id),
    expiresAt: (id) => this.timers.get(id)?.at,
  };

  private gcTimer: NodeJS.Timeout | null = null;

  /** Old template versions go once their last sandbox has gone; batched, not per delete. */
  private scheduleTemplateGc(): void {
    if (this.gcTimer || this.closed) return;
    this.gcTimer = setTimeout(() => {
      this.gcTimer = null;
      this.collectTemplates().catch((err: Error) =>
        this.onEvent({ type: 'template_gc_failed', error: err.message }),
      );
    }, 1000);
    this.gcTimer.unref();
  }

  /**
   * Arms a running sandbox's timeout. The deadline is also written to its record, so that it is a
   * fact on disk: an engine opened after it passed (the server was down) applies the policy at
   * once instead of granting a new timeout. `deadline` is a recovered record's.
   */
  private armTimeout(sbx: Sandbox, deadline?: string): void {
    this.disarmTimeout(sbx.id);
    const ms = sbx.data.timeoutMs;
    if (!ms || sbx.state !== 'running' || this.closed) {
      // No timeout any more (setTimeout(0)): no deadline on disk either.
      if (!ms && sbx.data.expiresAt !== undefined) this.recordDeadline(sbx, undefined);
      return;
    }
    const recovered = deadline ? new Date(deadline) : undefined;
    const at =
      recovered && !Number.isNaN(recovered.getTime()) ? recovered : new Date(Date.now() + ms);
    if (sbx.data.expiresAt !== at.toISOString()) this.recordDeadline(sbx, at.toISOString());
    const fire = () => {
      const left = at.getTime() - Date.now();
      if (left > 0) {
        this.timers.set(sbx.id, { timer: setTimeout(fire, Math.min(left, MAX_TIMER)), at });
        return;
      }
      this.timers.delete(sbx.id);
      const action = sbx.data.onTimeout;
      this.onEvent({ type: 'timeout', sandboxId: sbx.id, action });
      (action === 'pause' ? sbx.pause() : sbx.delete()).catch((err: Error) =>
        this.onEvent({ type: 'timeout_failed', sandboxId: sbx.id, error: err.message }),
      );
    };
    const left = Math.max(0, at.getTime() - Date.now());
    this.timers.set(sbx.id, { timer: setTimeout(fire, Math.min(left, MAX_TIMER)), at });
  }

  private recordDeadline(sbx: Sandbox, expiresAt: string | undefined): void {
    sbx
      .update({ expiresAt })
      .catch((err: Error) =>
        this.onEvent({ type: 'timeout_failed', sandboxId: sbx.id, error: err.message }),
      );
  }

  private disarmTimeout(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t.timer);
    this.timers.delete(id);
  }

  /** Re-lists persisted sandboxes and removes what belongs to none of them. */
  private async recover(): Promise<void> {
    const keep = new Set<string>();
    for (const record of await this.records.loadAll()) {
      const status = await this.driver.status(record.id);
      const sbx = new Sandbox(record, this.host);
      let state: 'running' | 'paused' | null = null;
      if (record.state === 'running' || record.state === 'paused') {
        if (status === 'running' || status === 'frozen') {
          if (status === 'frozen') {
            // The previous engine died during a pause, after freezing: thaw and carry on.
            await this.driver.thaw(record.id);
          }
          try {
            await sbx.attach(2000);
            state = 'running';
          } catch {
            state = null;
          }
        } else if (status === 'checkpointed') {
          state = 'paused';
        }
      }
      if (!state) continue;
      if (record.state !== state) {
        Object.assign(record, { state, updatedAt: new Date().toISOString() });
        await this.records.save(record);
      }
      keep.add(record.id);
      this.sandboxes.set(record.id, sbx);
      this.onEvent({ type: 'recovered', sandboxId: record.id, state });
      if (state === 'running') this.armTimeout(sbx, record.expiresAt);
    }
    for (const id of await this.driver.removeOrphans(keep)) {
      this.onEvent({ type: 'orphan_removed', sandboxId: id });
    }
  }

  private async lock(): Promise<void> {
    const held = await readFile(this.lockFile, 'utf8').catch(() => null);
    if (held && Number(held) !== process.pid && isAlive(Number(held))) {
      throw new SandboxError(
        'engine_locked',
        `Another sandbox engine (pid ${held}) is using ${this.dataDir}. Stop it or use another dataDir.`,
        { details: { pid: Number(held), dataDir: this.dataDir } },
      );
    }
    const f = await open(this.lockFile, 'w');
    await f.writeFile(String(process.pid));
    await f.close();
  }

  private async unlock(): Promise<void> {
    const held = await readFile(this.lockFile, 'utf8').catch(() => null);
    if (held && Number(held) === process.pid) await rm(this.lockFile, { force: true });
  }

  private assertOpen(): void {
    if (this.closed) throw new SandboxStateError('engine', 'closed', 'create a sandbox with');
  }
}

/** Starts the template's `startCmd` and waits until its `readyCmd` succeeds (60 s at most). */
async function startTemplateService(sbx: Sandbox, tpl: TemplateInfo): Promise<void> {
  const pid = await sbx.spawn(tpl.startCmd as string);
  if (!tpl.readyCmd) return;
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    const r = await sbx.exec(tpl.readyCmd, { timeoutMs: 10_000 });
    if (r.exitCode === 0) return;
    last = `${r.stdout}${r.stderr}`.trim().slice(-2000);
    const proc = (await sbx.processes.list()).find((p) => p.pid === pid);
    if (proc && !proc.running) {
      last = `startCmd exited with ${proc.exitCode ?? proc.signal}; ${last}`;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new SandboxError(
    'template_not_ready',
    `Template "${tpl.slug}": readyCmd did not succeed after startCmd (${last || 'no output'}).`,
    { details: { template: tpl.slug, startCmd: tpl.startCmd, readyCmd: tpl.readyCmd } },
  );
}

function isPoolable(o: CreateSandboxOptions, defaultDiskMiB: number): boolean {
  const r = o.resources;
  return (
    o.network.mode === 'none' &&
    o.volumes.length === 0 &&
    r.cpu === 1 &&
    r.memoryMiB === 512 &&
    r.pids === 512 &&
    (r.diskMiB === undefined || r.diskMiB === defaultDiskMiB)
  );
}
