import {
  createCustomTools,
  createIntegrationTools,
  type IntegrationToolsOptions,
  type LoopState,
  type ModelAccess,
  type ModelEnvironment,
  type RunAgentOptions,
  runAgent,
  type ToolRunners,
} from '@runtools/agent';
import type { Sandbox, SandboxEngine } from '@runtools/sandbox';
import {
  defineAgent,
  type ProjectConfig,
  type RunEvent,
  type RunEventInput,
  type RunStatus,
  RunToolsError,
  splitAgentTools,
} from '@runtools/sdk';
import { redactDefinitionSecrets } from '../secrets/definition-secrets.ts';
import type { Run } from '../store/runs.ts';
import type { Store } from '../store/store.ts';
import { ensureTemplateBuilt } from '../templates/ensure-template-built.ts';
import { expireApprovals } from './run-approvals.ts';
import { changeRunStatus, type RunLifecycle, recordRunEvents } from './run-lifecycle.ts';

export interface RunWorkerOptions {
  store: Store;
  engine: SandboxEngine;
  /** Unique per server process: who holds a claim. */
  workerId: string;
  /** A claim lasts this long without a heartbeat (default 30 s); then another worker may take the run. */
  leaseMs?: number;
  /** How often to look for queued runs when idle (default 200 ms; `wake()` skips the wait). */
  pollMs?: number;
  /** Runs executed at once by this worker (default 4). */
  concurrency?: number;
  /** Environment for model keys, read once at the edge. */
  env?: ModelEnvironment;
  /**
   * Where the server's model keys may be sent and which addresses custom model endpoints may
   * reach (default: no operator allowances; see `ModelAccess`).
   */
  modelAccess?: ModelAccess;
  /**
   * What `model: 'auto'` does when `env` has no provider key: false (the default, a production
   * server) fails the run with `no_model_configured`; true (`runtools dev`) answers with the
   * scripted demo model, which says what it is.
   */
  demoModel?: boolean;
  /**
   * The project settings runs use (web search provider, OpenAI-compatible server), read at each
   * run's start: `runtools dev` passes its project's `runtools.config.ts`, reloaded on change.
   */
  projectConfig?: () => Pick<ProjectConfig, 'openaiCompatible' | 'webSearch'> | undefined;
  /** Every stored event, after it is in the database: the fan-out to WebSocket/SSE subscribers. */
  onEvent?: (runId: string, event: RunEvent) => void;
  /**
   * Where runtimes' custom tools run: one tool runner per code bundle. Without them a run of an
   * agent with custom tools fails with `unknown_tool`.
   */
  toolRunners?: ToolRunners;
  /**
   * The values custom tools' declared secrets are read from (read once at the edge: the
   * variables of the server's environment the operator lets tools read).
   */
  toolSecrets?: Readonly<Record<string, string>>;
  /** Appended to the error of a declared secret that is not in `toolSecrets`: how to set one. */
  toolSecretsHelp?: string;
  /**
   * How marketplace integrations reach their services: the operator's base URLs and a fetch
   * that connects only where the operator allows (default: the services' own APIs, public
   * addresses only). Their credentials come from the secret store, per run's deployment.
   */
  integrations?: Pick<IntegrationToolsOptions, 'baseUrls' | 'fetch' | 'timeoutMs'>;
}

type OptionalOption =
  | 'onEvent'
  | 'env'
  | 'projectConfig'
  | 'modelAccess'
  | 'toolRunners'
  | 'toolSecrets'
  | 'toolSecretsHelp'
  | 'integrations';

interface Active {
  /** Aborts at once (cancel, drain, a lost lease). */
  controller: AbortController;
  /** Stops after the current step's tool calls (pause). */
  stop: AbortController;
  done: Promise<void>;
  /** Why the run is being stopped: cancel, pause, or the server draining. */
  stopping?: 'cancel' | 'pause' | 'drain';
}

/**
 * Takes runs from the database queue and executes them: claims a run (a new one, or one whose
 * worker died, which continues from its last checkpoint), boots a sandbox from the deployment's
 * template, runs the agent loop, and stores every event before handing it on. Several servers on
 * one PostgreSQL share the queue without running a run twice.
 */
export class RunWorker {
  private readonly opts: Required<Omit<RunWorkerOptions, OptionalOption>> &
    Pick<RunWorkerOptions, OptionalOption>;
  private readonly active = new Map<string, Active>();
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private controlsCheckedAt = 0;
  private approvalsCheckedAt = 0;

  constructor(options: RunWorkerOptions) {
    this.opts = { leaseMs: 30_000, pollMs: 200, concurrency: 4, demoModel: false, ...options };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.claimLoop();
  }

  /** Looks for work now (after a run was queued). */
  wake(): void {
    this.wakeUp?.();
  }

  /** Cancels a run this worker executes: the model call stops, the tool process is killed. */
  cancel(runId: string): boolean {
    const a = this.active.get(runId);
    if (!a) return false;
    // A cancel wins over a pause or a drain in progress.
    a.stopping = 'cancel';
    a.controller.abort('cancel');
    return true;
  }

  /**
   * Pauses a run this worker executes: a tool call in flight finishes and its step is
   * checkpointed (a model call in flight is abandoned and redone on resume); then the run is
   * `paused` with that checkpoint.
   */
  pause(runId: string): boolean {
    const a = this.active.get(runId);
    if (!a) return false;
    a.stopping ??= 'pause';
    a.stop.abort('pause');
    return true;
  }

  isExecuting(runId: string): boolean {
    return this.active.has(runId);
  }

  /**
   * Stops taking runs. With `drain` (SIGTERM), runs in flight are handed back to the queue: each
   * finishes its current tool call and checkpoints that step (as a pause does), and after
   * `graceMs` (default 10 s) whatever still runs is aborted; the run continues from its last
   * checkpoint, in this or another server.
   */
  async stop(options: { drain?: boolean; graceMs?: number } = {}): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
    let grace: NodeJS.Timeout | undefined;
    if (options.drain) {
      for (const a of this.active.values()) {
        if (!a.stopping) a.stopping = 'drain';
        a.stop.abort('drain');
      }
      grace = setTimeout(() => {
        for (const a of this.active.values()) a.controller.abort('drain');
      }, options.graceMs ?? 10_000);
    }
    try {
      await Promise.all([...this.active.values()].map((a) => a.done));
    } finally {
      clearTimeout(grace);
    }
  }

  private async claimLoop(): Promise<void> {
    while (this.running) {
      await this.applyControlRequests();
      await this.expireApprovals();
      let claimed: Run | undefined;
      if (this.active.size < this.opts.concurrency) {
        claimed = await this.opts.store.runs
          .claim(this.opts.workerId, { leaseMs: this.opts.leaseMs })
          .catch(() => undefined);
      }
      if (claimed) {
        this.execute(claimed);
        continue;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.opts.pollMs);
        this.wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeUp = null;
    }
  }

  /**
   * Pauses and cancels asked through another server process (the API of this one calls
   * `pause`/`cancel` directly) arrive as requests on the run's row; at most one query per poll.
   */
  private async applyControlRequests(): Promise<void> {
    if (this.active.size === 0 || Date.now() - this.controlsCheckedAt < this.opts.pollMs) return;
    this.controlsCheckedAt = Date.now();
    const requests = await this.opts.store.runs
      .pendingControls(this.opts.workerId, [...this.active.keys()])
      .catch(() => []);
    for (const { id, action } of requests) {
      const a = this.active.get(id);
      if (a === undefined || a.stopping === action || a.stopping === 'cancel') continue;
      if (action === 'cancel') this.cancel(id);
      else this.pause(id);
    }
  }

  /** Denies approvals whose time ran out (at most one query a second), queuing their runs. */
  private async expireApprovals(): Promise<void> {
    if (Date.now() - this.approvalsCheckedAt < 1000) return;
    this.approvalsCheckedAt = Date.now();
    const lifecycle: RunLifecycle = {
      store: this.opts.store,
      publish: (runId, event) => this.opts.onEvent?.(runId, event),
    };
    if ((await expireApprovals(lifecycle).catch(() => 0)) > 0) this.wake();
  }

  private execute(run: Run): void {
    const controller = new AbortController();
    const entry: Active = { controller, stop: new AbortController(), done: Promise.resolve() };
    entry.done = this.executeRun(run, entry).finally(() => {
      this.active.delete(run.id);
      this.wake();
    });
    this.active.set(run.id, entry);
  }

  private async executeRun(run: Run, entry: Active): Promise<void> {
    const { store, engine, workerId } = this.opts;
    const lifecycle: RunLifecycle = {
      store,
      publish: (runId, event) => this.opts.onEvent?.(runId, event),
    };
    const emit = (events: RunEventInput[]) => recordRunEvents(lifecycle, run.id, events);
    const finish = (status: RunStatus, options: Parameters<typeof changeRunStatus>[3] = {}) =>
      changeRunStatus(lifecycle, run.id, status, { worker: workerId, ...options });
    const heartbeat = setInterval(
      () => {
        store.runs.heartbeat(run.id, workerId, { leaseMs: this.opts.leaseMs }).then(
          (held) => {
            if (!held) entry.controller.abort('lease_lost');
          },
          () => {},
        );
      },
      Math.max(1000, this.opts.leaseMs / 3),
    );
    let sandbox: Awaited<ReturnType<SandboxEngine['create']>> | undefined;
    // A run that stops to wait for an approval, or is paused, keeps its sandbox, paused.
    let keepSandbox = false;
    let requested: Extract<RunEventInput, { type: 'approval_requested' }> | undefined;
    // A provider's error may quote the key it was sent: run errors show it masked.
    let definition: unknown;
    const redact = (message: string) =>
      definition === undefined ? message : redactDefinitionSecrets(message, definition);
    try {
      await emit([
        { type: 'status', status: 'running', ...(run.attempts > 1 ? { reason: 'resumed' } : {}) },
      ]);
      const deployment = await store.deployments.get(run.deploymentId);
      const runtime = deployment && (await store.runtimes.get(deployment.runtimeId));
      if (!deployment || !runtime)
        throw new RunToolsError(
          'deployment_not_found',
          `The deployment of run ${run.id} no longer exists.`,
        );
      definition = runtime.definition;
      const agent = defineAgent({
        ...(runtime.definition as Parameters<typeof defineAgent>[0]),
        template: deployment.templateSlug,
      });
      // A template defined through the API may not be built on this server yet. A cancel does not
      // abort the wait: the run ends as cancelled once the agent loop sees the aborted signal.
      await ensureTemplateBuilt(store, engine, deployment.templateSlug);
      sandbox = await this.kept(run);
      if (sandbox === undefined) {
        sandbox = await engine.create({
          template: deployment.templateSlug,
          metadata: { runId: run.id },
        });
        await store.runs.setSandbox(run.id, sandbox.id, workerId);
      }
      const resume = run.checkpoint ? (run.checkpoint as LoopState) : undefined;
      // The answer to the approval the run waited for (the loop checks it is the call it waits for).
      const answer = run.approval?.answer
        ? {
            callId: run.approval.callId,
            decision: run.approval.answer.decision,
            ...(run.approval.answer.reason === undefined
              ? {}
              : { reason: run.approval.answer.reason }),
          }
        : undefined;
      const projectConfig = this.opts.projectConfig?.();
      const result = await runAgent({
        agent,
        sandbox,
        ...(resume ? { resume } : { input: inputText(run.input) }),
        signal: entry.controller.signal,
        stopSignal: entry.stop.signal,
        ...(this.opts.env ? { env: this.opts.env } : {}),
        ...(this.opts.modelAccess ? { modelAccess: this.opts.modelAccess } : {}),
        demoModel: this.opts.demoModel,
        ...(projectConfig ? { projectConfig } : {}),
        onEvent: async (event) => {
          // Held until the run is `waiting`: an answer sent on seeing it must find it so.
          if (event.type === 'approval_requested') {
            requested = event;
            return;
          }
          await emit([
            event.type === 'error' ? { ...event, message: redact(event.message) } : event,
          ]);
        },
        onCheckpoint: (state) => store.runs.saveCheckpoint(run.id, state, { worker: workerId }),
        ...(agent.bundle
          ? {
              customTools: this.customTools(run, agent.bundle),
              approvalCheck: this.approvalCheck(agent.bundle),
            }
          : {}),
        integrationTools: async (agent) =>
          createIntegrationTools(splitAgentTools(agent.tools).integrations, {
            ...this.opts.integrations,
            // The deployment's own value of a secret first, then the server-wide one.
            credentials: (name) => store.secrets.resolve(name, run.deploymentId),
            // A renewed token (Slack's rotation) replaces the server-wide one it renews.
            saveCredential: async (name, value) => {
              await store.secrets.set(name, value, null);
            },
          }),
        ...(answer ? { answer } : {}),
        ...(agent.workflow ? this.workflowHooks(run, agent.bundle, deployment.templateSlug) : {}),
      });
      const stoppedBy =
        result.outcome === 'stopped' || result.outcome === 'cancelled' ? entry.stopping : undefined;
      if (result.outcome === 'completed' || result.outcome === 'max_steps') {
        await finish('completed', {
          output: { text: result.text, usage: result.usage, steps: result.steps },
        });
      } else if (result.outcome === 'waiting' && result.approval) {
        // Nothing runs while a person decides: the sandbox's memory goes to disk.
        keepSandbox = await pauseKept(sandbox);
        await store.runs.transition(run.id, 'waiting', {
          worker: workerId,
          checkpoint: result.state,
          approval: result.approval,
          sandboxId: keepSandbox ? sandbox.id : null,
        });
        await emit([
          ...(requested ? [requested] : []),
          { type: 'status', status: 'waiting', reason: 'approval' },
        ]);
      } else if (stoppedBy === 'pause') {
        keepSandbox = await pauseKept(sandbox);
        // The state it stopped in (a workflow's agent step keeps its loop there, to go on from).
        await finish('paused', {
          checkpoint: result.state,
          sandboxId: keepSandbox ? sandbox.id : null,
        });
      } else if (stoppedBy === 'drain') {
        await finish('queued', { reason: 'server_shutdown', checkpoint: result.state });
      } else if (stoppedBy === 'cancel' || result.outcome === 'cancelled') {
        await finish('cancelled');
      } else {
        const error = result.error
          ? { code: result.error.code, message: redact(result.error.message) }
          : { code: result.outcome, message: result.outcome };
        await finish('failed', { error, reason: error.code });
      }
    } catch (err) {
      const error = {
        code: RunToolsError.isInstance(err) ? err.code : 'internal_error',
        message: redact((err as Error)?.message ?? String(err)),
      };
      if (error.code !== 'run_claim_lost') {
        await emit([{ type: 'error', ...error }]).catch(() => {});
        await finish('failed', { error, reason: error.code }).catch(() => {});
      }
    } finally {
      clearInterval(heartbeat);
      if (!keepSandbox) await sandbox?.delete().catch(() => {});
    }
  }

  /**
   * The sandbox a run kept while it waited or was paused, running again; undefined when it has
   * none on this server's engine (then it continues in a fresh one).
   */
  private async kept(run: Run): Promise<Sandbox | undefined> {
    if (run.sandboxId === null) return undefined;
    let sandbox: Sandbox;
    try {
      sandbox = this.opts.engine.get(run.sandboxId);
    } catch {
      return undefined;
    }
    try {
      if (sandbox.state === 'paused') await sandbox.resume();
      if (sandbox.state === 'running') return sandbox;
    } catch {
      // It could not be restored: a fresh sandbox is better than a failed run.
    }
    await sandbox.delete().catch(() => {});
    return undefined;
  }

  /**
   * What a workflow needs of the server: sandboxes of their own for steps that ask for one (from
   * the deployment's template, deleted when the step ends), and code steps run in the tool runner
   * of the agent's bundle.
   */
  private workflowHooks(
    run: Run,
    bundle: string | undefined,
    template: string,
  ): Pick<RunAgentOptions, 'stepSandbox' | 'runCode'> {
    const { store, engine, toolRunners } = this.opts;
    return {
      stepSandbox: async (stepId) => {
        const sandbox = await engine.create({ template, metadata: { runId: run.id, stepId } });
        return { sandbox, release: () => sandbox.delete() };
      },
      ...(bundle !== undefined && toolRunners !== undefined
        ? {
            runCode: async (stepId, context, signal) => {
              const runner = await toolRunners.runner(bundle, () => store.bundles.require(bundle));
              return runner.runCode(stepId, context, signal);
            },
          }
        : {}),
    };
  }

  /** Asks the tool runner of `bundle` whether a call needs approval (an `input` rule). */
  private approvalCheck(bundle: string): NonNullable<RunAgentOptions['approvalCheck']> {
    const { store, toolRunners } = this.opts;
    return async (tool, input) => {
      if (toolRunners === undefined) return true;
      const runner = await toolRunners.runner(bundle, () => store.bundles.require(bundle));
      return runner.needsApproval(tool, input);
    };
  }

  /**
   * The custom tools of a run's agent, run by the tool runner of its bundle (the code comes from
   * the database the first time this server runs that bundle).
   */
  private customTools(run: Run, bundle: string): NonNullable<RunAgentOptions['customTools']> {
    const { store, toolRunners } = this.opts;
    return async (agent) => {
      if (toolRunners === undefined) {
        throw new RunToolsError(
          'unknown_tool',
          'This server runs no custom tools (it was started without tool runners).',
        );
      }
      const runner = await toolRunners.runner(bundle, () => store.bundles.require(bundle));
      return createCustomTools(splitAgentTools(agent.tools).descriptors, {
        runner,
        secrets: this.opts.toolSecrets ?? {},
        ...(this.opts.toolSecretsHelp ? { secretsHelp: this.opts.toolSecretsHelp } : {}),
        runId: run.id,
        metadata: run.metadata,
      });
    };
  }
}

/**
 * Pauses the sandbox a run keeps while it waits or is paused. One CRIU cannot pause stays
 * running (the engine says why in its log): its files and processes are kept either way.
 */
async function pauseKept(sandbox: Sandbox): Promise<true> {
  await sandbox.pause().catch(() => {});
  return true;
}

function inputText(input: unknown): string {
  if (typeof input === 'string') return input;
  return JSON.stringify(input);
}
