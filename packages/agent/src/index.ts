export type { IntegrationToolsFactory } from './integrations/agent-integrations.ts';
export { maskCredentials } from './integrations/credential-mask.ts';
export {
  type ActionContext,
  actionsFor,
  type ClientSettings,
  defineIntegration,
  type Integration,
  type IntegrationAction,
  type IntegrationSecret,
} from './integrations/integration.ts';
export {
  type CredentialSource,
  createIntegrationTools,
  type IntegrationToolsOptions,
} from './integrations/integration-tools.ts';
export { marketplace } from './integrations/marketplace.ts';
export { initialState, type LoopState, snapshot } from './loop/loop-state.ts';
export {
  type RunAgentOptions,
  type RunAgentResult,
  type RunOutcome,
  runAgent,
} from './loop/run-agent.ts';
export {
  type KeyedProvider,
  ModelAccess,
  ModelAccessError,
  type ModelAccessOptions,
  type ModelEnvironment,
  PROVIDER_APIS,
  PROVIDER_KEYS,
} from './models/model-access.ts';
export {
  AUTO_MODELS,
  autoModelChoice,
  ModelConfigError,
  type ModelOptions,
  NoModelConfiguredError,
  providerOf,
  resolveModel,
} from './models/model-registry.ts';
export {
  SCRIPTED_MODEL_ID,
  type ScriptedModelOptions,
  scriptedModel,
} from './models/scripted-model.ts';
export {
  AddressPolicy,
  type AddressPolicyOptions,
  type AddressVerdict,
} from './net/address-policy.ts';
export { AddressRefusedError } from './net/address-refused-error.ts';
export { checkedAddresses, type HostLookup, systemLookup } from './net/checked-lookup.ts';
export { type Cidr, parseCidr, parseCidrList } from './net/cidr.ts';
export {
  type ForbiddenKind,
  forbiddenRanges,
  loopbackRanges,
  metadataAddresses,
} from './net/forbidden-ranges.ts';
export {
  createPinnedFetch,
  type PinnedFetch,
  type PinnedFetchOptions,
} from './net/pinned-fetch.ts';
export {
  type LoadedProject,
  loadProject,
  loadProjectStrict,
  type ProjectAgent,
  ProjectLoadError,
  type ProjectProblem,
  type ProjectTemplate,
} from './project/project-loader.ts';
export { coreTools, createCoreTools } from './tools/core-tools.ts';
export { type CustomToolsOptions, createCustomTools } from './tools/custom/custom-tools.ts';
export type { SandboxOperation } from './tools/custom/runner-protocol.ts';
export { maskSecrets } from './tools/custom/secret-mask.ts';
export {
  type RunnerCall,
  type RunnerCallResult,
  ToolRunner,
  type ToolRunnerOptions,
} from './tools/custom/tool-runner.ts';
export {
  TOOL_RUNNER_USER,
  ToolRunners,
  type ToolRunnersOptions,
} from './tools/custom/tool-runners.ts';
export type { AgentTool, ToolContext, ToolResult, WebSearchConfig } from './tools/tool.ts';
export { ToolError } from './tools/tool.ts';
