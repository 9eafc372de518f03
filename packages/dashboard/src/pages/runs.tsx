import { useQuery } from '@tanstack/react-query';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { useMemo, useState } from 'react';
import { CodeLine, curlLine } from '../components/deployment-endpoints.tsx';
import { RunFilters, type RunFilterValues, runFiltersFrom } from '../components/run-filters.tsx';
import { runsPath } from '../components/run-format.ts';
import { RunTable } from '../components/run-table.tsx';
import { Button, EmptyState, ErrorNotice, Loading, PageHeader } from '../components/ui.tsx';
import { deploymentsQuery, runsQuery } from '../queries.ts';
import { useClient } from '../session.tsx';

/**
 * Runs, newest first, a page at a time; the filters and the page's cursor are in the URL, so a
 * filtered list can be shared or reloaded. The list refreshes itself while a run on it is live.
 */
export function RunsPage() {
  const client = useClient();
  const navigate = useNavigate();
  const search = useSearch({ strict: false }) as Record<string, unknown>;
  const filters = runFiltersFrom(search);
  const cursor = search.cursor === undefined ? undefined : String(search.cursor);
  // The cursors of the pages before this one, to go back to.
  const [previous, setPrevious] = useState<Array<string | undefined>>([]);

  const go = (values: RunFilterValues, nextCursor?: string) => {
    const next: Record<string, string> = {};
    for (const [name, value] of Object.entries({ ...values, cursor: nextCursor })) {
      if (value !== undefined) next[name] = value;
    }
    void navigate({ to: runsPath, search: next });
  };

  const deployments = useQuery(deploymentsQuery(client));
  const slugs = useMemo(
    () => new Map((deployments.data?.data ?? []).map((d) => [d.id, d.apiSlug])),
    [deployments.data],
  );
  const runs = useQuery(runsQuery(client, filters, cursor));

  const filtered = Object.values(filters).some((value) => value !== undefined);
  const page = runs.data;
  const firstDeployment = deployments.data?.data[0];

  return (
    <>
      <PageHeader title="Runs" />
      <RunFilters
        values={filters}
        deployments={deployments.data?.data ?? []}
        onChange={(values) => {
          setPrevious([]);
          go(values);
        }}
      />
      {runs.isPending ? <Loading what="runs" /> : null}
      {runs.isError ? <ErrorNotice error={runs.error} /> : null}
      {page && page.data.length === 0 && !filtered && cursor === undefined ? (
        <EmptyState title="No runs yet">
          {firstDeployment ? (
            <div className="mx-auto max-w-3xl space-y-2 text-left">
              <p>
                Start one from a deployment's "Try it" box, or with <code>curl</code> (the key in{' '}
                <code>$RUNTOOLS_API_KEY</code>):
              </p>
              <CodeLine
                code={curlLine(firstDeployment.apiSlug)}
                copyLabel={`Copy the curl line of ${firstDeployment.apiSlug}`}
              />
            </div>
          ) : (
            <p>
              Runs come from deployments: deploy an agent first (<code>runtools deploy</code>, or{' '}
              <code>runtools dev</code> while you build it), then run it.
            </p>
          )}
        </EmptyState>
      ) : null}
      {page && page.data.length === 0 && (filtered || cursor !== undefined) ? (
        <EmptyState title="No runs match">
          <p>No run matches these filters.</p>
        </EmptyState>
      ) : null}
      {page && page.data.length > 0 ? (
        <>
          <RunTable runs={page.data} deploymentSlugs={slugs} busy={runs.isFetching} />
          <nav aria-label="Pages of runs" className="mt-4 flex items-center gap-2">
            <Button
              className="disabled:opacity-40"
              disabled={cursor === undefined}
              onClick={() => {
                const back = previous.at(-1);
                setPrevious(previous.slice(0, -1));
                go(filters, back);
              }}
            >
              Newer
            </Button>
            <Button
              className="disabled:opacity-40"
              disabled={page.nextCursor === null}
              onClick={() => {
                setPrevious([...previous, cursor]);
                go(filters, page.nextCursor ?? undefined);
              }}
            >
              Older
            </Button>
          </nav>
        </>
      ) : null}
    </>
  );
}
