export {
  type AgentDefinition,
  AgentDefinitionError,
  type AgentDefinitionInput,
  agentDefinitionSchema,
  checkAgentTools,
  defineAgent,
  isAgentDefinition,
  type McpServerConfig,
  type ModelSpec,
  mcpServerSchema,
  modelSchema,
} from './agent-definition.ts';
export * from './api/index.ts';
export { RunToolsApiError } from './client/api-error.ts';
export { type BundlesClient, sha256Hex } from './client/bundles-client.ts';
export { type EventStreamOptions, isTerminalEvent, runEventStream } from './client/event-stream.ts';
export type { ProjectAgentsClient } from './client/project-agents-client.ts';
export {
  type RunOptions,
  type RunResult,
  RunTools,
  type RunToolsOptions,
  type StartStreamOptions,
  type StreamOptions,
} from './client/run-tools-client.ts';
export type { ExecOptions, SandboxesClient } from './client/sandboxes-client.ts';
export type {
  TemplateLogOptions,
  TemplatesClient,
  WaitForBuildOptions,
} from './client/templates-client.ts';
export { RunToolsError } from './errors.ts';
export {
  defineConfig,
  type ProjectConfig,
  type ProjectConfigInput,
  projectConfigSchema,
} from './project-config.ts';
export {
  type AgentToolApproval,
  type AgentTools,
  defineTool,
  isToolDefinition,
  splitAgentTools,
  storedApprovalRule,
  type ToolApproval,
  type ToolCallContext,
  type ToolDefinition,
  ToolDefinitionError,
  type ToolDefinitionInput,
  type ToolExecOptions,
  type ToolExecResult,
  type ToolFileEntry,
  type ToolSandbox,
  toolDescriptor,
} from './tool-definition.ts';
export { generateWebhookSecret, signWebhook, verifyWebhook } from './webhook-verify.ts';
