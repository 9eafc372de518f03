/** How a run's numbers read on the page. */

/** `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.floor(seconds % 60)).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/**
 * How long a run took, or has been going: from its start to its end (or `now`); a run that has
 * not started has no duration.
 */
export function runDuration(
  run: { startedAt: string | null; finishedAt: string | null },
  now = Date.now(),
): string {
  if (run.startedAt === null) return '—';
  const end = run.finishedAt === null ? now : Date.parse(run.finishedAt);
  return formatDuration(end - Date.parse(run.startedAt));
}

const integer = new Intl.NumberFormat();

/** `1,234`. */
export function formatCount(n: number): string {
  return integer.format(n);
}

/** An input as the agent was given it: a string as is, anything else as JSON. */
export function inputText(input: unknown): string {
  return typeof input === 'string' ? input : JSON.stringify(input, null, 2);
}

/**
 * A run page's path. The router's routes are registered by path string, so links build their
 * paths as strings too.
 */
export function runPath(runId: string): string {
  return `/runs/${encodeURIComponent(runId)}`;
}

/** The runs list's path (its filters go in `search`). */
export const runsPath: string = '/runs';
