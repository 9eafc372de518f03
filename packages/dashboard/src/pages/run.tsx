import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from '@tanstack/react-router';
import { useCallback } from 'react';
import { inputText, runDuration, runsPath } from '../components/run-format.ts';
import { RunView } from '../components/run-view.tsx';
import { ErrorNotice, Loading, PageHeader, Time } from '../components/ui.tsx';
import { deploymentsQuery, runQuery } from '../queries.ts';
import { useClient } from '../session.tsx';

function Field({ name, children }: { name: string; children: React.ReactNode }) {
  return (
    <div>
      <dt className="text-xs font-medium text-zinc-600 dark:text-zinc-400">{name}</dt>
      <dd className="mt-0.5 text-sm">{children}</dd>
    </div>
  );
}

/**
 * One run: what it was asked, when and where it ran, and its events streaming live (replayed
 * from the first after a reload), with pause, resume and cancel.
 */
export function RunPage() {
  const { runId } = useParams({ strict: false }) as { runId: string };
  const client = useClient();
  const queries = useQueryClient();
  const run = useQuery(runQuery(client, runId));
  const deployments = useQuery(deploymentsQuery(client));
  // The workflow is in the definition of the runtime the run's deployment serves.
  const deploymentId = run.data?.deploymentId;
  const definition = useQuery({
    queryKey: ['deployment-definition', deploymentId],
    enabled: deploymentId !== undefined,
    staleTime: 60_000,
    queryFn: async () => {
      const deployment = await client.deployments.get(deploymentId as string);
      return (await client.runtimes.get(deployment.runtimeId)).definition;
    },
  });
  // A status change moves the run's times: read it again.
  const onStatus = useCallback(
    () => void queries.invalidateQueries({ queryKey: ['run', runId] }),
    [queries, runId],
  );

  if (run.isPending) {
    return (
      <>
        <PageHeader title="Run" />
        <Loading what="the run" />
      </>
    );
  }
  if (run.isError) {
    return (
      <>
        <PageHeader title="Run" />
        <ErrorNotice error={run.error} />
      </>
    );
  }
  const data = run.data;
  const slug = deployments.data?.data.find((d) => d.id === data.deploymentId)?.apiSlug;
  return (
    <>
      <PageHeader title="Run" />
      <p className="-mt-4 mb-4 font-mono text-sm text-zinc-600 dark:text-zinc-400">{data.id}</p>
      <dl className="mb-6 grid grid-cols-2 gap-4 sm:grid-cols-3 lg:grid-cols-6">
        <Field name="Deployment">
          <Link
            to={runsPath}
            search={{ deployment: data.deploymentId }}
            className="font-mono text-sky-700 underline dark:text-sky-400"
          >
            {slug ?? data.deploymentId}
          </Link>
        </Field>
        <Field name="Created">
          <Time iso={data.createdAt} />
        </Field>
        <Field name="Started">
          <Time iso={data.startedAt} />
        </Field>
        <Field name="Finished">
          <Time iso={data.finishedAt} />
        </Field>
        <Field name="Duration">{runDuration(data)}</Field>
        <Field name="Attempts">{data.attempts}</Field>
      </dl>
      <section aria-labelledby="run-input" className="mb-6">
        <h2 id="run-input" className="mb-2 text-sm font-semibold">
          Input
        </h2>
        <pre className="max-h-64 overflow-auto whitespace-pre-wrap break-words rounded-md bg-zinc-100 p-3 font-mono text-xs dark:bg-zinc-900">
          {inputText(data.input)}
        </pre>
      </section>
      <section aria-labelledby="run-events">
        <h2 id="run-events" className="mb-3 text-sm font-semibold">
          Events
        </h2>
        <RunView
          runId={data.id}
          initialStatus={data.status}
          onStatus={onStatus}
          workflow={(definition.data as { workflow?: unknown } | undefined)?.workflow}
        />
      </section>
    </>
  );
}
