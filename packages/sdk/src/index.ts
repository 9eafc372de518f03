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
export { RunToolsError } from './errors.ts';
export {
  defineConfig,
  type ProjectConfig,
  type ProjectConfigInput,
  projectConfigSchema,
} from './project-config.ts';
export type { RunEvent, RunEventInput, RunEventType, Usage } from './run-events.ts';
export { generateWebhookSecret, signWebhook, verifyWebhook } from './webhook-verify.ts';
