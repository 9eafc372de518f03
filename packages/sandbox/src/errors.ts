import type { ErrorCode } from '@runtools/sdk/api';
import { RunToolsError } from '@runtools/sdk/errors';

/**
 * Errors of the sandbox engine. Each has a stable `code`; the message says what happened and what
 * to do about it. Nothing on the host has changed when one of these is thrown for bad input.
 */
export class SandboxError extends RunToolsError {
  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(code, message, options);
    this.name = 'SandboxError';
  }
}

/** The options given to create/exec/etc. are invalid (`invalid_options`). */
export class InvalidOptionsError extends SandboxError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('invalid_options', message, { details });
    this.name = 'InvalidOptionsError';
  }
}

export class SandboxNotFoundError extends SandboxError {
  constructor(id: string) {
    super('sandbox_not_found', `Sandbox ${id} does not exist (it may have been deleted).`, {
      details: { sandboxId: id },
    });
    this.name = 'SandboxNotFoundError';
  }
}

/** An operation is not allowed in the sandbox's current state (`sandbox_state`). */
export class SandboxStateError extends SandboxError {
  constructor(id: string, state: string, operation: string, hint?: string) {
    super(
      'sandbox_state',
      `Cannot ${operation} sandbox ${id}: it is ${state}.${hint ? ` ${hint}` : ''}`,
      { details: { sandboxId: id, state, operation } },
    );
    this.name = 'SandboxStateError';
  }
}

export class TemplateNotFoundError extends SandboxError {
  constructor(template: string, available: string[]) {
    super(
      'template_not_found',
      `Template "${template}" does not exist. Available templates: ${available.join(', ') || '(none)'}.`,
      { details: { template, available } },
    );
    this.name = 'TemplateNotFoundError';
  }
}

/** A path that would leave the sandbox root, or is not a valid path at all (`invalid_path`). */
export class InvalidPathError extends SandboxError {
  constructor(path: string, reason: string) {
    super('invalid_path', `Invalid path "${path}": ${reason}.`, { details: { path } });
    this.name = 'InvalidPathError';
  }
}

/** A file operation failed inside the sandbox; `code` follows the errno (`file_not_found`, ...). */
export class SandboxFileError extends SandboxError {
  readonly errno: number;
  constructor(code: ErrorCode, message: string, errno: number, path: string) {
    super(code, message, { details: { path, errno } });
    this.name = 'SandboxFileError';
    this.errno = errno;
  }
}

export class ProcessNotFoundError extends SandboxError {
  constructor(sandboxId: string, pid: number) {
    super('process_not_found', `No process ${pid} in sandbox ${sandboxId}.`, {
      details: { sandboxId, pid },
    });
    this.name = 'ProcessNotFoundError';
  }
}

/** A command could not be started (bad cwd, command not found) (`exec_failed`). */
export class ExecError extends SandboxError {
  constructor(message: string, details: Record<string, unknown>) {
    super('exec_failed', message, { details });
    this.name = 'ExecError';
  }
}

export class VolumeNotFoundError extends SandboxError {
  constructor(name: string) {
    super('volume_not_found', `Volume "${name}" does not exist. Create it first.`, {
      details: { volume: name },
    });
    this.name = 'VolumeNotFoundError';
  }
}

export class VolumeInUseError extends SandboxError {
  constructor(name: string, sandboxIds: string[]) {
    super(
      'volume_in_use',
      `Volume "${name}" is mounted by sandbox(es) ${sandboxIds.join(', ')}; delete them first.`,
      { details: { volume: name, sandboxIds } },
    );
    this.name = 'VolumeInUseError';
  }
}

/** A host prerequisite (runc, CRIU, ...) is missing or broken (`host_prerequisite`). */
export class HostPrerequisiteError extends SandboxError {
  constructor(what: string, fix: string, cause?: unknown) {
    super('host_prerequisite', `${what}. Fix: ${fix}`, { cause, details: { fix } });
    this.name = 'HostPrerequisiteError';
  }
}

/** The container runtime failed (`runtime_failed`); the details carry its stderr. */
export class RuntimeError extends SandboxError {
  constructor(operation: string, output: string, details: Record<string, unknown> = {}) {
    super('runtime_failed', `${operation} failed: ${output.trim().slice(-2000)}`, {
      details: { operation, ...details },
    });
    this.name = 'RuntimeError';
  }
}

/**
 * A pause (`checkpoint_failed`) or resume (`restore_failed`) failed. A failed pause leaves the
 * sandbox running as it was; its details name the process CRIU could not checkpoint (`pid`
 * inside the sandbox, `comm`) and CRIU's own error lines (`criu`) when it knows them.
 */
export class CheckpointError extends SandboxError {
  constructor(
    sandboxId: string,
    phase: 'pause' | 'resume',
    output: string,
    details: Record<string, unknown> = {},
  ) {
    super(
      phase === 'pause' ? 'checkpoint_failed' : 'restore_failed',
      `Could not ${phase} sandbox ${sandboxId}: ${output.trim().slice(-2000)}`,
      { details: { sandboxId, ...details } },
    );
    this.name = 'CheckpointError';
  }
}

/** The supervisor inside the sandbox did not answer (`supervisor_unavailable`). */
export class SupervisorError extends SandboxError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('supervisor_unavailable', message, { details });
    this.name = 'SupervisorError';
  }
}
