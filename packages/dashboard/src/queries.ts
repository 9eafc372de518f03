import { isTerminalStatus } from '@runtools/sdk/api';
import type { RunTools } from '@runtools/sdk/client';
import { keepPreviousData, QueryClient, queryOptions } from '@tanstack/react-query';
import { type RunFilterValues, runTimeRanges } from './components/run-filters.tsx';

/** The dashboard's one query cache, shared by the pages and the router's loaders. */
export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A 401/403 will not fix itself by asking again.
      retry: (count, error) =>
        count < 2 &&
        !(
          error instanceof Error &&
          /unauthorized|insufficient_scope|not_found/.test(
            String((error as { code?: string }).code),
          )
        ),
      refetchOnWindowFocus: false,
    },
  },
});

/**
 * The queries a page needs on its first screen, defined once so that the router's loader can
 * start them while the app checks the session, and the page finds them already under way.
 */
export const deploymentsQuery = (client: RunTools) =>
  queryOptions({
    queryKey: ['deployments'],
    queryFn: () => client.deployments.list({ limit: 100 }),
  });

export const runsPageSize = 25;

export const runsQuery = (client: RunTools, filters: RunFilterValues, cursor: string | undefined) =>
  queryOptions({
    queryKey: ['runs', filters, cursor],
    queryFn: () =>
      client.runs.list({
        limit: runsPageSize,
        status: filters.status,
        deploymentId: filters.deployment,
        idPrefix: filters.q,
        createdAfter:
          filters.since === undefined
            ? undefined
            : new Date(Date.now() - runTimeRanges[filters.since].ms).toISOString(),
        cursor,
      }),
    placeholderData: keepPreviousData,
    refetchInterval: (query) =>
      query.state.data?.data.some((run) => !isTerminalStatus(run.status)) ? 3000 : false,
  });

export const runQuery = (client: RunTools, runId: string) =>
  queryOptions({ queryKey: ['run', runId], queryFn: () => client.runs.get(runId) });
