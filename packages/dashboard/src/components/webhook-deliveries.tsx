import type { WebhookDelivery } from '@runtools/sdk/api';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { Fragment, useState } from 'react';
import { useClient } from '../session.tsx';
import { tableClass, tdClass, thClass } from './key-fields.tsx';
import { Button, EmptyState, ErrorNotice, Loading, StatusBadge, Time } from './ui.tsx';

/** How often the deliveries (and an open attempt log) are read again: the dispatcher is async. */
const refreshMs = 2000;

function lastAnswer(d: { lastStatusCode: number | null; lastError: string | null }) {
  if (d.lastStatusCode !== null) return `HTTP ${d.lastStatusCode}`;
  return d.lastError ?? '—';
}

/** Every attempt of one delivery: its answer (status or error), how long it took, when. */
function DeliveryAttempts({
  webhookId,
  delivery,
}: {
  webhookId: string;
  delivery: WebhookDelivery;
}) {
  const rt = useClient();
  const detail = useQuery({
    queryKey: ['webhook-delivery', webhookId, delivery.id],
    queryFn: () => rt.webhooks.delivery(webhookId, delivery.id),
    refetchInterval: refreshMs,
  });
  if (detail.error) return <ErrorNotice error={detail.error} />;
  if (detail.data === undefined) return <Loading what="the attempts" />;
  const { attemptLog, payload } = detail.data;
  return (
    <div className="space-y-3 py-2">
      {attemptLog.length === 0 ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          No attempt yet: the dispatcher sends it within a second or two.
        </p>
      ) : (
        <ol aria-label={`Attempts of delivery ${delivery.id}`} className="space-y-1 text-sm">
          {attemptLog.map((a) => {
            const ok = a.statusCode !== null && a.statusCode >= 200 && a.statusCode < 300;
            return (
              <li key={a.attempt} className="flex flex-wrap gap-x-3">
                <span className="font-medium">Attempt {a.attempt}</span>
                <span>
                  {ok ? 'succeeded' : 'failed'}:{' '}
                  {a.statusCode !== null ? `HTTP ${a.statusCode}` : (a.error ?? 'no answer')}
                </span>
                <span className="text-zinc-600 dark:text-zinc-400">{a.durationMs} ms</span>
                <Time iso={a.ts} />
              </li>
            );
          })}
        </ol>
      )}
      {delivery.nextAttemptAt && delivery.status === 'pending' ? (
        <p className="text-sm">
          Next attempt: <Time iso={delivery.nextAttemptAt} />
        </p>
      ) : null}
      <details>
        <summary className="cursor-pointer text-sm">Payload</summary>
        <pre className="mt-2 max-h-64 overflow-auto rounded bg-zinc-100 p-2 text-xs dark:bg-zinc-900">
          {JSON.stringify(payload, null, 2)}
        </pre>
      </details>
    </div>
  );
}

/**
 * A webhook's deliveries, newest first and read again every two seconds; each opens to show its
 * attempts, and can be sent again (same id and body).
 */
export function WebhookDeliveries({
  webhookId,
  deployment,
}: {
  webhookId: string;
  /** The deployment the webhook listens to (its apiSlug), null for every one. */
  deployment: string | null;
}) {
  const rt = useClient();
  const queries = useQueryClient();
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const [notice, setNotice] = useState('');

  const deliveries = useInfiniteQuery({
    queryKey: ['webhook-deliveries', webhookId],
    queryFn: ({ pageParam }) =>
      rt.webhooks.deliveries(webhookId, { limit: 50, ...(pageParam ? { cursor: pageParam } : {}) }),
    initialPageParam: '',
    getNextPageParam: (page) => page.nextCursor ?? undefined,
    refetchInterval: refreshMs,
  });

  const redeliver = useMutation({
    mutationFn: (delivery: WebhookDelivery) => rt.webhooks.redeliver(webhookId, delivery.id),
    onSuccess: async (delivery) => {
      setNotice(`Delivery ${delivery.id} (${delivery.eventType}) is due again now.`);
      setOpen((current) => new Set(current).add(delivery.id));
      await queries.invalidateQueries({ queryKey: ['webhook-deliveries', webhookId] });
      await queries.invalidateQueries({ queryKey: ['webhook-delivery', webhookId, delivery.id] });
    },
  });

  if (deliveries.error) return <ErrorNotice error={deliveries.error} />;
  if (deliveries.data === undefined) return <Loading what="deliveries" />;
  const list = deliveries.data.pages.flatMap((p) => p.data);

  const toggle = (id: string) =>
    setOpen((current) => {
      const next = new Set(current);
      if (!next.delete(id)) next.add(id);
      return next;
    });

  return (
    <>
      <p role="status" className="mb-2 text-sm">
        {notice}
      </p>
      {redeliver.error ? <ErrorNotice error={redeliver.error} /> : null}
      {list.length === 0 ? (
        <EmptyState title="No deliveries yet">
          Each event this webhook listens to makes a delivery when a run
          {deployment ? ` of ${deployment}` : ''} emits it. Start a run and it shows up here within
          a few seconds:
          <pre className="mt-2 overflow-x-auto rounded bg-zinc-100 p-2 text-left text-xs dark:bg-zinc-900">
            {`curl -X POST ${window.location.origin}/v1/run/${deployment ?? 'SLUG'} \\
  -H "authorization: Bearer $RUNTOOLS_API_KEY" \\
  -H 'content-type: application/json' -d '{"input": "hi"}'`}
          </pre>
        </EmptyState>
      ) : (
        <div className="overflow-x-auto">
          <table className={tableClass}>
            <caption className="sr-only">Deliveries, newest first</caption>
            <thead>
              <tr>
                <th className={thClass}>Event</th>
                <th className={thClass}>Run</th>
                <th className={thClass}>Status</th>
                <th className={thClass}>Attempts</th>
                <th className={thClass}>Last answer</th>
                <th className={thClass}>Created</th>
                <th className={thClass}>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((d) => {
                const expanded = open.has(d.id);
                const panel = `attempts-${d.id}`;
                return (
                  <Fragment key={d.id}>
                    <tr>
                      <td className={`${tdClass} font-mono`}>{d.eventType}</td>
                      <td className={tdClass}>
                        {d.runId ? (
                          <Link
                            to={`/runs/${d.runId}` as string}
                            className="font-mono text-sky-700 underline dark:text-sky-400"
                          >
                            {d.runId}
                          </Link>
                        ) : (
                          '—'
                        )}
                      </td>
                      <td className={tdClass}>
                        <StatusBadge status={d.status} />
                      </td>
                      <td className={tdClass}>{d.attempts}</td>
                      <td className={tdClass}>{lastAnswer(d)}</td>
                      <td className={tdClass}>
                        <Time iso={d.createdAt} />
                      </td>
                      <td className={`${tdClass} whitespace-nowrap text-right`}>
                        <span className="inline-flex gap-2">
                          <Button
                            aria-expanded={expanded}
                            aria-controls={expanded ? panel : undefined}
                            aria-label={`Attempts of the ${d.eventType} delivery ${d.id}`}
                            onClick={() => toggle(d.id)}
                          >
                            {expanded ? 'Hide attempts' : 'Attempts'}
                          </Button>
                          <Button
                            aria-label={`Redeliver the ${d.eventType} delivery ${d.id}`}
                            disabled={redeliver.isPending}
                            onClick={() => redeliver.mutate(d)}
                          >
                            Redeliver
                          </Button>
                        </span>
                      </td>
                    </tr>
                    {expanded ? (
                      <tr id={panel}>
                        <td colSpan={7} className={`${tdClass} bg-zinc-50 dark:bg-zinc-900/50`}>
                          <DeliveryAttempts webhookId={webhookId} delivery={d} />
                        </td>
                      </tr>
                    ) : null}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {deliveries.hasNextPage ? (
        <div className="mt-3">
          <Button
            onClick={() => void deliveries.fetchNextPage()}
            disabled={deliveries.isFetchingNextPage}
          >
            Load more deliveries
          </Button>
        </div>
      ) : null}
    </>
  );
}
