import type { SandboxState } from '@runtools/sdk/api';

export type { SandboxState };

const ALLOWED: Record<SandboxState, readonly SandboxState[]> = {
  creating: ['running', 'stopped'],
  running: ['paused', 'stopped'],
  paused: ['running', 'stopped'],
  stopped: [],
};

export function canTransition(from: SandboxState, to: SandboxState): boolean {
  return ALLOWED[from].includes(to);
}
