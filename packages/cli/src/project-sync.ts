import { type LoadedProject, providerOf } from '@runtools/agent';
import {
  agentDefinitionSchema,
  type Deployment,
  isToolDefinition,
  type ModelSpec,
  maskDefinitionSecrets,
  type Page,
  type PageParams,
  type ProjectConfig,
  type RunTools,
  RunToolsError,
  type Runtime,
  type RuntimeInput,
  splitAgentTools,
  storedApprovalRule,
  storedWorkflow,
  toolDescriptor,
  workflowHasCode,
} from '@runtools/sdk';
import { type AgentBundle, bundleAgent } from './agent-bundle.ts';

/** One thing a sync changed on the server. */
export interface SyncChange {
  kind: 'runtime' | 'deployment';
  /** The agent's slug (a runtime) or the deployment's apiSlug. */
  slug: string;
  action: 'created' | 'updated' | 'deleted';
  /** e.g. `version 3`, `runtime rtm_…, template nodejs-20`. */
  detail: string;
}

/** An endpoint the project serves after the sync. */
export interface SyncEndpoint {
  slug: string;
  /** The agent file it comes from (relative to the project). */
  file: string;
  template: string;
  /** The model as the agent file names it. */
  model: ModelSpec;
  /** The model as the server stores it (see `runtimeInput`). */
  served: ModelSpec;
  runtimeId: string;
  runtimeVersion: number;
  deploymentId: string;
  /** The agent's custom tools (`defineTool()`), whose code went up as the bundle. */
  customTools: string[];
  /** The SHA-256 of the agent's code bundle, when it has custom tools. */
  bundle?: string;
  /** The project's files in that bundle (relative to the project root). */
  bundleFiles?: string[];
}

export interface SyncResult {
  /** What changed, in the order it was done; empty when the server already matched. */
  changes: SyncChange[];
  endpoints: SyncEndpoint[];
}

export interface SyncOptions {
  /**
   * Delete deployments whose slug no agent of the project has any more (default false: a server
   * may serve deployments made elsewhere); never while a file is broken. `runtools dev` prunes:
   * its server is the project's own.
   */
  prune?: boolean;
  /** Told about each change as it happens (for progress output). */
  onChange?: (change: SyncChange) => void;
}

/**
 * The bundle made for each loaded agent, so that an agent `runtools dev` keeps serving while its
 * file is broken (the last good load) is not bundled again from that broken file.
 */
const bundles = new WeakMap<object, AgentBundle>();

/**
 * Makes a server serve a project: each agent becomes a runtime (a new version only when its
 * definition differs from the newest stored one) and a deployment under its slug with its
 * template (created, or updated when its runtime or template differs). Running it again with no
 * change to the project changes nothing. Uses only the public API, so it works against the local
 * server of `runtools dev` and a remote one (`runtools deploy`) alike.
 *
 * Broken files (`project.problems`) are skipped: what they defined before stays as it is.
 * With `project.config`, model names its `openaiCompatible` server serves are made explicit.
 * An agent with custom tools (`defineTool()`) is bundled with esbuild (its file and everything it
 * imports): the bundle is uploaded before the runtime that names it, and a change of any of
 * those files changes its hash, so the agent gets a new runtime version.
 */
export async function syncProject(
  client: RunTools,
  project: Pick<LoadedProject, 'agents' | 'problems'> & {
    config?: ProjectConfig;
    /** The project's root: needed to bundle agents with custom tools. */
    root?: string;
  },
  options: SyncOptions = {},
): Promise<SyncResult> {
  const changes: SyncChange[] = [];
  const record = (change: SyncChange) => {
    changes.push(change);
    options.onChange?.(change);
  };
  // Custom templates (templates/NAME/Dockerfile) are built before this point: a deployment names
  // its template, and a run of it boots from that template.
  const deployments = new Map(
    (await listAll((page) => client.deployments.list(page))).map((d) => [d.apiSlug, d]),
  );
  const endpoints: SyncEndpoint[] = [];
  for (const { agent, file } of project.agents) {
    const customTools = splitAgentTools(agent.tools).definitions.map((d) => d.name);
    // Approval functions are code as well: the tool runner of the bundle calls them.
    const approvalFunctions =
      Object.values(agent.approvals ?? {}).some((rule) => typeof rule === 'function') ||
      workflowHasCode(agent.workflow);
    let bundle: AgentBundle | undefined;
    if (customTools.length > 0 || approvalFunctions) {
      if (project.root === undefined) {
        throw new RunToolsError(
          'invalid_project',
          `${file} has custom tools or approval functions: syncing it needs the project's root to bundle it.`,
        );
      }
      bundle = bundles.get(agent);
      if (bundle === undefined) {
        bundle = await bundleAgent(project.root, file);
        bundles.set(agent, bundle);
      }
    }
    const input = runtimeInput(agent, project.config, bundle?.sha256);
    const runtime = await syncRuntime(client, input, record, bundle);
    const deployment = await syncDeployment(
      client,
      deployments.get(agent.slug),
      { apiSlug: agent.slug, runtimeId: runtime.id, template: agent.template },
      record,
    );
    endpoints.push({
      slug: agent.slug,
      file,
      template: agent.template,
      model: agent.model,
      served: input.model as ModelSpec,
      runtimeId: runtime.id,
      runtimeVersion: runtime.version,
      deploymentId: deployment.id,
      customTools,
      ...(bundle ? { bundle: bundle.sha256, bundleFiles: bundle.files } : {}),
    });
  }
  // A broken file may define any slug: while there is one, nothing is pruned.
  if (options.prune && project.problems.length === 0) {
    const keep = new Set(project.agents.map((a) => a.agent.slug));
    for (const d of deployments.values()) {
      if (keep.has(d.apiSlug)) continue;
      await client.deployments.delete(d.id);
      record({
        kind: 'deployment',
        slug: d.apiSlug,
        action: 'deleted',
        detail: 'no agent has it',
      });
    }
  }
  return { changes, endpoints };
}

/**
 * The definition as the server stores it: validated, defaults filled in. A model name only the
 * project's `openaiCompatible` server serves becomes an explicit `openai-compatible` model, since
 * the server does not read the project's config. Custom tools become their descriptors (the
 * JSON schema of their input) and `bundle` names the code they run.
 */
function runtimeInput(
  agent: LoadedProject['agents'][number]['agent'],
  config?: ProjectConfig,
  bundle?: string,
): Record<string, unknown> {
  const tools = agent.tools.map((tool) => (isToolDefinition(tool) ? toolDescriptor(tool) : tool));
  // Said explicitly: JSON would drop a function, and with it the approval it guards.
  const approvals = Object.fromEntries(
    Object.entries(agent.approvals ?? {}).map(([name, rule]) => [name, storedApprovalRule(rule)]),
  );
  const json = JSON.parse(
    JSON.stringify({
      ...agent,
      tools,
      approvals,
      ...(agent.workflow ? { workflow: storedWorkflow(agent.workflow) } : {}),
      ...(bundle ? { bundle } : {}),
    }),
  ) as RuntimeInput;
  const c = config?.openaiCompatible;
  if (c && typeof json.model === 'string' && providerOf(json.model) === 'openai-compatible') {
    json.model = {
      provider: 'openai-compatible',
      model: json.model,
      baseURL: c.baseURL,
      ...(c.apiKey ? { apiKey: c.apiKey } : {}),
    };
  }
  return agentDefinitionSchema.parse(json) as Record<string, unknown>;
}

async function syncRuntime(
  client: RunTools,
  definition: Record<string, unknown>,
  record: (change: SyncChange) => void,
  bundle: AgentBundle | undefined,
): Promise<Runtime> {
  const slug = definition.slug as string;
  const [latest] = (await client.runtimes.list({ slug, limit: 1 })).data;
  // The server shows a stored key masked: compare the local definition masked the same way.
  // The same definition names the same bundle, which the server then already has.
  if (latest && canonical(latest.definition) === canonical(maskDefinitionSecrets(definition))) {
    return latest;
  }
  // The code first: the server refuses a runtime whose bundle it does not have.
  if (bundle) await client.bundles.upload(bundle.code);
  const created = await client.runtimes.create(definition as RuntimeInput);
  record({ kind: 'runtime', slug, action: 'created', detail: `version ${created.version}` });
  return created;
}

async function syncDeployment(
  client: RunTools,
  existing: Deployment | undefined,
  wanted: { apiSlug: string; runtimeId: string; template: string },
  record: (change: SyncChange) => void,
): Promise<Deployment> {
  const detail = `runtime ${wanted.runtimeId}, template ${wanted.template}`;
  if (!existing) {
    const created = await client.deployments.create(wanted);
    record({ kind: 'deployment', slug: wanted.apiSlug, action: 'created', detail });
    return created;
  }
  if (existing.runtimeId === wanted.runtimeId && existing.template === wanted.template) {
    return existing;
  }
  const updated = await client.deployments.update(existing.id, {
    runtimeId: wanted.runtimeId,
    template: wanted.template,
  });
  record({ kind: 'deployment', slug: wanted.apiSlug, action: 'updated', detail });
  return updated;
}

/** JSON with sorted keys: two definitions are the same when their canonical forms are. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

async function listAll<T>(list: (page: PageParams) => Promise<Page<T>>): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await list({ limit: 100, ...(cursor ? { cursor } : {}) });
    all.push(...page.data);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all;
}
