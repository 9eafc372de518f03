import { SUPERVISOR_BINARY } from '../native-build.ts';

export type PrerequisiteCheck = {
  name: string;
  /** The tool or feature is there. */
  found: boolean;
  version?: string;
  /** Its version is good enough and its probe passed. */
  works: boolean;
  /** What was found and what the probe said, for people. */
  detail: string;
  /** The exact command that fixes a missing or failing prerequisite. */
  fix?: string;
  /** Sandboxes work without it (e.g. buildah, only for Dockerfile templates). */
  optional?: boolean;
};

/** Installs every prerequisite that can be installed; run from the repository root as root. */
export const SETUP_FIX = 'bash scripts/setup.sh';

export const MIN_NODE_MAJOR = 24;

/** The supervisor built by `native/build.sh` (same place from src/ and dist/). */
export const DEFAULT_SUPERVISOR_BINARY = SUPERVISOR_BINARY;
