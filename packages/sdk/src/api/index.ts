/**
 * The wire contract of the RunTools API, as zod: every request body, response, run event and
 * webhook payload. The server's routes and OpenAPI document are built from these schemas and the
 * client's types are inferred from them, so the two cannot drift apart. All JSON is camelCase.
 */
export * from './agent-code-value.ts';
export * from './api-keys.ts';
export * from './bundles.ts';
export * from './common.ts';
export * from './csrf-header.ts';
export * from './custom-tools.ts';
export * from './deployments.ts';
export * from './error-codes.ts';
export * from './integrations.ts';
export * from './pagination.ts';
export * from './project-agents.ts';
export * from './run-approvals.ts';
export * from './run-events.ts';
export * from './run-status.ts';
export * from './runs.ts';
export * from './runtime-secrets.ts';
export * from './runtimes.ts';
export * from './sandboxes.ts';
export * from './secrets.ts';
export * from './sessions.ts';
export * from './template-build-log.ts';
export * from './template-spec.ts';
export * from './templates.ts';
export * from './tool-catalog.ts';
export * from './webhooks.ts';
export * from './workflows.ts';
