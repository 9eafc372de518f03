/**
 * The API client alone, without Node-only parts (webhook verification uses node:crypto): what a
 * browser bundle imports (`@runtools/sdk/client`).
 */
export { RunToolsApiError } from './api-error.ts';
export type { ProjectAgentsClient } from './project-agents-client.ts';
export { RunTools, type RunToolsOptions } from './run-tools-client.ts';
