import { type RunStatus, runStatuses } from '@runtools/sdk/api';
import { type FormEvent, useEffect, useId, useState } from 'react';
import { Button } from './ui.tsx';

/** Time ranges the list offers, back from now. */
export const runTimeRanges = {
  '1h': { label: 'Last hour', ms: 3_600_000 },
  '24h': { label: 'Last 24 hours', ms: 86_400_000 },
  '7d': { label: 'Last 7 days', ms: 7 * 86_400_000 },
  '30d': { label: 'Last 30 days', ms: 30 * 86_400_000 },
} as const;

export type RunTimeRange = keyof typeof runTimeRanges;

/** The runs list's filters, as the URL holds them (`/runs?status=failed&since=24h`). */
export interface RunFilterValues {
  status?: RunStatus | undefined;
  deployment?: string | undefined;
  since?: RunTimeRange | undefined;
  q?: string | undefined;
}

/** Reads the filters from the URL's search values, dropping any that is not one. */
export function runFiltersFrom(search: Record<string, unknown>): RunFilterValues {
  const text = (value: unknown) =>
    value === undefined || value === null || value === '' ? undefined : String(value);
  const status = text(search.status);
  const since = text(search.since);
  return {
    status: runStatuses.includes(status as RunStatus) ? (status as RunStatus) : undefined,
    deployment: text(search.deployment),
    since: since !== undefined && since in runTimeRanges ? (since as RunTimeRange) : undefined,
    q: text(search.q)?.trim() || undefined,
  };
}

const control =
  'rounded-md border border-zinc-300 bg-white px-2 py-1.5 text-sm dark:border-zinc-700 dark:bg-zinc-900';

/** Status, deployment and time range selects and the search by id; each change is applied at once. */
export function RunFilters({
  values,
  deployments,
  onChange,
}: {
  values: RunFilterValues;
  deployments: ReadonlyArray<{ id: string; apiSlug: string }>;
  onChange: (values: RunFilterValues) => void;
}) {
  const id = useId();
  const [query, setQuery] = useState(values.q ?? '');
  useEffect(() => setQuery(values.q ?? ''), [values.q]);
  const search = (event: FormEvent) => {
    event.preventDefault();
    onChange({ ...values, q: query.trim() || undefined });
  };
  const filtered =
    values.status !== undefined ||
    values.deployment !== undefined ||
    values.since !== undefined ||
    values.q !== undefined;
  return (
    <div className="mb-4 flex flex-wrap items-end gap-3">
      <div className="flex flex-col gap-1">
        <label htmlFor={`${id}-status`} className="text-xs font-medium">
          Status
        </label>
        <select
          id={`${id}-status`}
          className={control}
          value={values.status ?? ''}
          onChange={(e) =>
            onChange({ ...values, status: (e.target.value || undefined) as RunStatus | undefined })
          }
        >
          <option value="">Any status</option>
          {runStatuses.map((status) => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </select>
      </div>
      <div className="flex flex-col gap-1">
        <label htmlFor={`${id}-deployment`} className="text-xs font-medium">
          Deployment
        </label>
        <select
          id={`${id}-deployment`}
          className={control}
          value={values.deployment ?? ''}
          onChange={(e) => onChange({ ...values, deployment: e.target.value || undefined })}
        >
          <option value="">Any deployment</option>
          {deployments.map((d) => (
            <option key={d.id} value={d.id}>
              {d.apiSlug}
            </option>
          ))}
          {values.deployment !== undefined &&
          !deployments.some((d) => d.id === values.deployment) ? (
            <option value={values.deployment}>{values.deployment}</option>
          ) : null}
        </select>
      </div>
      <div className="flex flex-col gap-1">
        <label htmlFor={`${id}-since`} className="text-xs font-medium">
          Created
        </label>
        <select
          id={`${id}-since`}
          className={control}
          value={values.since ?? ''}
          onChange={(e) =>
            onChange({
              ...values,
              since: (e.target.value || undefined) as RunTimeRange | undefined,
            })
          }
        >
          <option value="">Any time</option>
          {(Object.keys(runTimeRanges) as RunTimeRange[]).map((range) => (
            <option key={range} value={range}>
              {runTimeRanges[range].label}
            </option>
          ))}
        </select>
      </div>
      <search>
        <form onSubmit={search} className="flex items-end gap-2">
          <div className="flex flex-col gap-1">
            <label htmlFor={`${id}-q`} className="text-xs font-medium">
              Run id
            </label>
            <input
              id={`${id}-q`}
              type="search"
              value={query}
              onChange={(e) => setQuery(e.target.value)}
              placeholder="run_…"
              spellCheck={false}
              className={`${control} w-64 font-mono`}
            />
          </div>
          <Button type="submit">Search</Button>
        </form>
      </search>
      {filtered ? (
        <Button onClick={() => onChange({})} className="ml-auto">
          Clear filters
        </Button>
      ) : null}
    </div>
  );
}
