import type { CreatedWebhook } from '@runtools/sdk/api';
import { useInfiniteQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import { OnceSecret } from '../components/key-copy.tsx';
import { useDeploymentName } from '../components/key-deployment-choices.ts';
import { Panel, tableClass, tdClass, thClass } from '../components/key-fields.tsx';
import { Button, EmptyState, ErrorNotice, Loading, PageHeader, Time } from '../components/ui.tsx';
import { WebhookCreateForm } from '../components/webhook-create-form.tsx';
import { useClient } from '../session.tsx';

/** Webhooks: add one (its signing secret shown once) and list them; each links to its deliveries. */
export function WebhooksPage() {
  const rt = useClient();
  const [created, setCreated] = useState<CreatedWebhook | null>(null);
  const deploymentName = useDeploymentName();

  const webhooks = useInfiniteQuery({
    queryKey: ['webhooks'],
    queryFn: ({ pageParam }) =>
      rt.webhooks.list({ limit: 100, ...(pageParam ? { cursor: pageParam } : {}) }),
    initialPageParam: '',
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });

  if (webhooks.error) {
    return (
      <>
        <PageHeader title="Webhooks" />
        <ErrorNotice error={webhooks.error} />
      </>
    );
  }
  const list = webhooks.data?.pages.flatMap((p) => p.data) ?? [];

  return (
    <>
      <PageHeader title="Webhooks" />
      {created ? (
        <OnceSecret
          title="Webhook added"
          label="Signing secret"
          secret={created.secret}
          onDone={() => setCreated(null)}
        >
          <p className="mt-1 text-sm">
            Verify each delivery with it:{' '}
            <code>
              verifyWebhook({'{'} payload, headers, secret {'}'})
            </code>{' '}
            from <code>@runtools/sdk</code>.{' '}
            <Link
              to={`/webhooks/${created.id}` as string}
              className="text-sky-700 underline dark:text-sky-400"
            >
              See its deliveries
            </Link>
            .
          </p>
        </OnceSecret>
      ) : null}
      <WebhookCreateForm onCreated={setCreated} />
      <Panel title="Subscribed URLs">
        {webhooks.isLoading ? (
          <Loading what="webhooks" />
        ) : list.length === 0 ? (
          <EmptyState title="No webhooks yet">
            Add a URL above to get a signed POST each time a run starts, completes or fails, instead
            of polling the runs API.
          </EmptyState>
        ) : (
          <div className="overflow-x-auto">
            <table className={tableClass}>
              <caption className="sr-only">Webhooks, newest first</caption>
              <thead>
                <tr>
                  <th className={thClass}>URL</th>
                  <th className={thClass}>Events</th>
                  <th className={thClass}>Deployment</th>
                  <th className={thClass}>Created</th>
                </tr>
              </thead>
              <tbody>
                {list.map((webhook) => (
                  <tr key={webhook.id}>
                    <td className={`${tdClass} break-all`}>
                      <Link
                        to={`/webhooks/${webhook.id}` as string}
                        className="font-mono text-sky-700 underline dark:text-sky-400"
                      >
                        {webhook.url}
                      </Link>
                    </td>
                    <td className={tdClass}>{webhook.events.join(', ')}</td>
                    <td className={tdClass}>
                      {webhook.deploymentId
                        ? deploymentName(webhook.deploymentId)
                        : 'every deployment'}
                    </td>
                    <td className={tdClass}>
                      <Time iso={webhook.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {webhooks.hasNextPage ? (
          <div className="mt-3">
            <Button
              onClick={() => void webhooks.fetchNextPage()}
              disabled={webhooks.isFetchingNextPage}
            >
              Load more webhooks
            </Button>
          </div>
        ) : null}
      </Panel>
    </>
  );
}
