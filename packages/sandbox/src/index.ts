export type {
  DriverSandboxInfo,
  DriverSandboxSpec,
  DriverStatus,
  SandboxDriver,
} from './driver.ts';
export { OciDriver, type OciDriverOptions } from './drivers/oci/oci-driver.ts';
export { type EngineEvent, SandboxEngine, type SandboxEngineOptions } from './engine.ts';
export * from './errors.ts';
export type {
  DirEntry,
  FileInfo,
  FileType,
  ReadLinesOptions,
  ReadOptions,
  WriteOptions,
} from './files.ts';
export { SandboxFiles } from './files.ts';
export { findCriu } from './host/criu.ts';
export { doctor, formatDoctorReport, type PrerequisiteCheck } from './host/doctor/doctor.ts';
export { findRunc } from './host/runc.ts';
export { type ListeningPort, parseListeningPorts } from './listening-ports.ts';
export type { CreateSandboxInput, CreateSandboxOptions } from './options.ts';
export { createOptionsSchema } from './options.ts';
export type { ExposedPort } from './ports.ts';
export { SandboxPorts } from './ports.ts';
export type {
  AttachOptions,
  BackgroundStarted,
  ExecOptions,
  ExecResult,
  ProcessExit,
  ProcessInfo,
  SpawnOptions,
} from './processes.ts';
export { SandboxProcesses } from './processes.ts';
export { Sandbox, type SandboxInfo } from './sandbox.ts';
export type { SandboxState } from './state.ts';
export { parseDockerfile } from './templates/dockerfile/parse.ts';
export {
  SYSTEM_TEMPLATES,
  type TemplateSpec,
  type TemplateSpecInput,
  templateSpecSchema,
} from './templates/template-spec.ts';
export {
  type TemplateDefinition,
  type TemplateInfo,
  TemplateStore,
  type ValidateOptions,
} from './templates/template-store.ts';
export type { VolumeInfo } from './volumes.ts';
