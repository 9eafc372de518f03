import { z } from 'zod';

/**
 * Every error code RunTools raises, with the HTTP status the API answers it with. A code is
 * stable once published; clients switch on it. 500 is the unexpected: the API hides such an
 * error's message behind `internal_error` (it may name files or hosts). 502 and 503 are declared
 * conditions a caller can act on (retry later, resume again), so their message is shown.
 */
export const errorCodes = {
  // The request itself
  invalid_json: 400,
  invalid_input: 400,
  invalid_options: 400,
  invalid_agent: 400,
  invalid_tool: 400,
  // A bundle uploaded under a hash that is not the SHA-256 of its bytes.
  bundle_hash_mismatch: 400,
  invalid_config: 400,
  invalid_path: 400,
  exec_failed: 400,
  is_a_directory: 400,
  not_a_directory: 400,
  name_too_long: 400,
  symlink_loop: 400,
  cross_device: 400,
  template_invalid: 400,
  template_runtime_unavailable: 400,
  webhook_invalid: 400,
  webhook_secret_invalid: 400,
  // The webhook URL is or resolves to a loopback, private, link-local or metadata address:
  // the operator can allow ranges with RUNTOOLS_WEBHOOK_ALLOW.
  webhook_url_forbidden: 400,
  model_config: 400,
  model_unavailable: 400,
  // A runtime would send a key the server holds to a URL the operator did not allow
  // (RUNTOOLS_MODEL_BASE_URLS, RUNTOOLS_MODEL_KEY_VARS): it must bring its own key.
  model_key_not_allowed: 400,
  // A custom model endpoint is or resolves to a forbidden address (RUNTOOLS_MODEL_ENDPOINT_ALLOW).
  model_endpoint_forbidden: 400,
  // `model: 'auto'` on a server with no provider key (and no demo model): set one.
  no_model_configured: 400,
  duplicate_agent: 400,
  module_not_found: 400,
  load_failed: 400,
  invalid_project: 400,
  unknown_tool: 400,
  template_base_not_found: 400,
  request_too_large: 413,
  unauthorized: 401,
  forbidden: 403,
  insufficient_scope: 403,
  csrf_token_invalid: 403,
  permission_denied: 403,
  // What the request names does not exist
  not_found: 404,
  api_key_not_found: 404,
  // A runtime names a code bundle the server does not have: upload it first (PUT /v1/bundles/{sha256}).
  bundle_not_found: 404,
  deployment_not_found: 404,
  agent_file_not_found: 404,
  file_not_found: 404,
  process_not_found: 404,
  run_not_found: 404,
  // The run asks no approval of that call (never did, or it was answered and the run went on).
  approval_not_found: 404,
  runtime_not_found: 404,
  secret_not_found: 404,
  sandbox_not_found: 404,
  template_build_not_found: 404,
  template_not_found: 404,
  volume_not_found: 404,
  webhook_delivery_not_found: 404,
  webhook_not_found: 404,
  method_not_allowed: 405,
  // The current state does not allow it
  conflict: 409,
  run_state: 409,
  run_claim_lost: 409,
  sandbox_state: 409,
  template_state: 409,
  template_exists: 409,
  template_in_use: 409,
  template_build_failed: 409,
  template_build_cancelled: 409,
  runtime_in_use: 409,
  deployment_slug_taken: 409,
  volume_exists: 409,
  volume_in_use: 409,
  file_exists: 409,
  directory_not_empty: 409,
  read_only: 409,
  busy: 409,
  files_exist: 409,
  template_not_ready: 409,
  // CRIU could not dump the sandbox (its message says which process and why); it keeps running.
  checkpoint_failed: 409,
  // The sandbox was paused or stopped while the request used it (or its rt-init died).
  supervisor_unavailable: 409,
  // The agent builder (`/v1/project/agents`): the file changed where the edit writes (both
  // versions in the details), a new agent's file or slug exists, the file or field cannot be
  // edited (computed, imported, spread; or the server has no project folder).
  agent_file_conflict: 409,
  agent_file_exists: 409,
  agent_file_read_only: 409,
  agent_field_read_only: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  upgrade_required: 426,
  rate_limited: 429,
  sandbox_limit: 429,
  // The server's own failures: the message is logged, the caller sees `internal_error`.
  internal_error: 500,
  runtime_failed: 500,
  host_prerequisite: 500,
  id_range_conflict: 500,
  engine_locked: 500,
  engine_closed: 500,
  database_migration_failed: 500,
  database_in_use: 500,
  build_abandoned: 500,
  model_error: 500,
  // A workflow step could not go on (run errors, never an HTTP answer): a path in a prompt or an
  // input names nothing, a branch has no case for the value, the model's answer does not match
  // the step's output schema after retries, a denied approval with no `denied` step, a tool
  // step's call failed, or the workflow took more than its `maxTransitions` steps.
  workflow_path_unknown: 500,
  workflow_branch_unmatched: 500,
  workflow_output_invalid: 500,
  approval_denied: 500,
  tool_failed: 500,
  workflow_too_long: 500,
  // The secret key the server encrypts stored secrets with: malformed, missing (PostgreSQL), or
  // not the key this database's secrets were encrypted with. Raised at start, never by a request.
  secret_key_invalid: 500,
  secret_key_required: 500,
  secret_key_mismatch: 500,
  // An errno RunTools has no code for (the message has the system's text).
  file_error: 500,
  // Declared conditions the caller can act on.
  // The sandbox's disk is full: delete files in it, or give it a larger disk.
  no_space: 507,
  port_unreachable: 502,
  mcp_server_failed: 502,
  server_shutting_down: 503,
  sandboxes_unavailable: 503,
  // CRIU could not restore a paused sandbox; it stays paused with its images: retry, or delete it.
  restore_failed: 503,
  // A package mirror or registry a template build needs did not answer: try again later.
  template_mirror_unreachable: 503,
  template_registry_unreachable: 503,
  template_base_unreachable: 503,
  // Raised by the client, never sent by a server.
  network_error: 503,
  invalid_response: 502,
  // The CLI found no server to talk to.
  no_server: 503,
} as const satisfies Record<
  string,
  400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 426 | 429 | 500 | 502 | 503 | 507
>;

/** A RunTools error code, e.g. `sandbox_not_found`. */
export type ErrorCode = keyof typeof errorCodes;

/** The HTTP status the API answers `code` with. */
export function statusForCode(code: ErrorCode): (typeof errorCodes)[ErrorCode] {
  return errorCodes[code];
}

/** True for a code this version of RunTools knows (a newer server may send others). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(errorCodes, code);
}

/** The body of every error response. */
export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ example: 'deployment_not_found' }),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .meta({ id: 'Error' });

export type ErrorResponse = z.infer<typeof errorResponseSchema>;
