export {
  type AgentDefinition,
  AgentDefinitionError,
  type AgentDefinitionInput,
  agentDefinitionSchema,
  defineAgent,
  isAgentDefinition,
  type ModelSpec,
  modelSchema,
} from './agent-definition.ts';
export { RunToolsApiError } from './client/api-error.ts';
export type {
  ApiKey,
  BackgroundStarted,
  CreatedApiKey,
  CreatedWebhook,
  Deployment,
  DeploymentInput,
  DirectoryEntry,
  DirectoryListing,
  ExecInput,
  ExecResult,
  Page,
  PageParams,
  Run,
  RunError,
  RunResult,
  RunStatus,
  Runtime,
  RuntimeInput,
  Sandbox,
  SandboxInput,
  SandboxState,
  Template,
  TemplateBuild,
  TemplateBuildStatus,
  TemplateContextFile,
  TemplateInput,
  TemplateLogEvent,
  TemplatePatch,
  TemplateSpecInput,
  Webhook,
  WebhookDelivery,
  WebhookDeliveryWithAttempts,
  WebhookEventType,
  WebhookInput,
} from './client/api-types.ts';
export { type EventStreamOptions, isTerminalEvent, runEventStream } from './client/event-stream.ts';
export {
  type RunOptions,
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
export type { RunEvent, RunEventInput, RunEventType, Usage } from './run-events.ts';
export { generateWebhookSecret, signWebhook, verifyWebhook } from './webhook-verify.ts';
