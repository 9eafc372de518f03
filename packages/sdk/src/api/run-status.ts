/** Every status a run can be in. */
export const runStatuses = [
  'queued',
  'running',
  'paused',
  /** Waiting for a person to approve a tool call; its sandbox is paused meanwhile. */
  'waiting',
  'completed',
  'failed',
  'cancelled',
] as const;

export type RunStatus = (typeof runStatuses)[number];

/** The statuses after which a run emits nothing more. */
export const terminalRunStatuses = [
  'completed',
  'failed',
  'cancelled',
] as const satisfies readonly RunStatus[];

/** True for `completed`, `failed` and `cancelled`. */
export function isTerminalStatus(status: string): boolean {
  return (terminalRunStatuses as readonly string[]).includes(status);
}
