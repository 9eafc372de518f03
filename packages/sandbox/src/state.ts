/** Public lifecycle states of a sandbox. */
export type SandboxState = 'creating' | 'running' | 'paused' | 'stopped';

const ALLOWED: Record<SandboxState, readonly SandboxState[]> = {
  creating: ['running', 'stopped'],
  running: ['paused', 'stopped'],
  paused: ['running', 'stopped'],
  stopped: [],
};

export function canTransition(from: SandboxState, to: SandboxState): boolean {
  return ALLOWED[from].includes(to);
}
