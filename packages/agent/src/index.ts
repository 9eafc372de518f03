export { initialState, type LoopState, snapshot } from './loop/loop-state.ts';
export {
  type RunAgentOptions,
  type RunAgentResult,
  type RunOutcome,
  runAgent,
} from './loop/run-agent.ts';
export {
  AUTO_MODELS,
  autoModelChoice,
  ModelConfigError,
  type ModelEnvironment,
  PROVIDER_KEYS,
  providerOf,
  resolveModel,
} from './models/model-registry.ts';
export {
  SCRIPTED_MODEL_ID,
  type ScriptedModelOptions,
  scriptedModel,
} from './models/scripted-model.ts';
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
export type { AgentTool, ToolContext, ToolResult, WebSearchConfig } from './tools/tool.ts';
export { ToolError } from './tools/tool.ts';
