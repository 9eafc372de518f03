import type { ReactNode } from 'react';

/**
 * The few shared building blocks of every page. Colour is never the only signal: a status badge
 * always shows its word, an error its code.
 */

export function PageHeader({ title, actions }: { title: string; actions?: ReactNode }) {
  return (
    <div className="mb-6 flex flex-wrap items-center justify-between gap-3">
      <h1 className="text-2xl font-semibold">{title}</h1>
      {actions ? <div className="flex gap-2">{actions}</div> : null}
    </div>
  );
}

/** What a page shows when there is nothing yet, and what to do next. */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <section
      aria-label={title}
      className="rounded-lg border border-dashed border-zinc-300 p-8 text-center dark:border-zinc-700"
    >
      <h2 className="text-lg font-medium">{title}</h2>
      <div className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">{children}</div>
    </section>
  );
}

type ApiError = Error & { code?: string; status?: number; details?: Record<string, unknown> };

/** An API error with its code; a 403 names the scope the key lacks. */
export function ErrorNotice({ error }: { error: unknown }) {
  const e = error as ApiError;
  const scopes = e?.details?.requiredScopes as string[] | undefined;
  return (
    <div
      role="alert"
      className="rounded-md border border-red-300 bg-red-50 p-4 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100"
    >
      {e?.code === 'insufficient_scope' ? (
        <p>
          <strong>Forbidden:</strong> this API key lacks the{' '}
          <code>{scopes?.join(' or ') ?? 'required'}</code> scope. Sign in with a key that has it.
        </p>
      ) : (
        <p>
          <strong>{e?.code ?? 'error'}:</strong> {e?.message ?? String(error)}
        </p>
      )}
    </div>
  );
}

const tones: Record<string, string> = {
  completed: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100',
  ready: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100',
  running: 'bg-sky-100 text-sky-900 dark:bg-sky-900 dark:text-sky-100',
  building: 'bg-sky-100 text-sky-900 dark:bg-sky-900 dark:text-sky-100',
  queued: 'bg-zinc-100 text-zinc-900 dark:bg-zinc-800 dark:text-zinc-100',
  paused: 'bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100',
  waiting: 'bg-violet-100 text-violet-900 dark:bg-violet-900 dark:text-violet-100',
  failed: 'bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100',
  cancelled: 'bg-zinc-200 text-zinc-800 dark:bg-zinc-700 dark:text-zinc-100',
  succeeded: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100',
  active: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100',
  revoked: 'bg-zinc-200 text-zinc-800 dark:bg-zinc-700 dark:text-zinc-100',
  stopped: 'bg-zinc-200 text-zinc-800 dark:bg-zinc-700 dark:text-zinc-100',
  pending: 'bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100',
  'pausing…': 'bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100',
  'resuming…': 'bg-sky-100 text-sky-900 dark:bg-sky-900 dark:text-sky-100',
  'deleting…': 'bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100',
};

/** A status as a word on a tinted background (the word carries the meaning, not the colour). */
export function StatusBadge({ status }: { status: string }) {
  return (
    <span
      className={`inline-block rounded px-2 py-0.5 text-xs font-medium ${tones[status] ?? tones.queued}`}
    >
      {status}
    </span>
  );
}

export function Button({
  children,
  variant = 'secondary',
  ...props
}: React.ButtonHTMLAttributes<HTMLButtonElement> & {
  variant?: 'primary' | 'secondary' | 'danger';
}) {
  const look = {
    primary: 'bg-sky-700 text-white hover:bg-sky-800 disabled:bg-sky-300',
    secondary:
      'border border-zinc-300 bg-white hover:bg-zinc-50 dark:border-zinc-700 dark:bg-zinc-900 dark:hover:bg-zinc-800',
    danger: 'bg-red-700 text-white hover:bg-red-800 disabled:bg-red-300',
  }[variant];
  return (
    <button
      type="button"
      {...props}
      className={`rounded-md px-3 py-1.5 text-sm font-medium disabled:cursor-not-allowed ${look} ${props.className ?? ''}`}
    >
      {children}
    </button>
  );
}

/** A time as the reader's local time, with the exact ISO time on hover. */
export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span>—</span>;
  return (
    <time dateTime={iso} title={iso}>
      {new Date(iso).toLocaleString()}
    </time>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p role="status" className="text-sm text-zinc-500">
      Loading {what}…
    </p>
  );
}
