import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from '@tanstack/react-router';
import { useState } from 'react';
import { ConfirmDialog } from '../components/key-confirm.tsx';
import { useDeploymentName } from '../components/key-deployment-choices.ts';
import { Panel } from '../components/key-fields.tsx';
import { Button, ErrorNotice, Loading, PageHeader, Time } from '../components/ui.tsx';
import { WebhookDeliveries } from '../components/webhook-deliveries.tsx';
import { useClient } from '../session.tsx';

/** One webhook: what it listens to, every delivery with its attempts, redeliver, delete. */
export function WebhookPage() {
  const { webhookId } = useParams({ strict: false }) as { webhookId: string };
  const rt = useClient();
  const queries = useQueryClient();
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState(false);
  const deploymentName = useDeploymentName();

  const webhook = useQuery({
    queryKey: ['webhook', webhookId],
    queryFn: () => rt.webhooks.get(webhookId),
  });
  const remove = useMutation({
    mutationFn: () => rt.webhooks.delete(webhookId),
    onSuccess: async () => {
      setConfirming(false);
      await queries.invalidateQueries({ queryKey: ['webhooks'] });
      await navigate({ to: '/webhooks' as string });
    },
  });

  const back = (
    <Link to={'/webhooks' as string} className="text-sm text-sky-700 underline dark:text-sky-400">
      ← Webhooks
    </Link>
  );
  if (webhook.error) {
    return (
      <>
        {back}
        <PageHeader title="Webhook" />
        <ErrorNotice error={webhook.error} />
      </>
    );
  }
  if (webhook.data === undefined) return <Loading what="the webhook" />;
  const w = webhook.data;

  return (
    <>
      {back}
      <PageHeader
        title="Webhook"
        actions={
          <Button variant="danger" onClick={() => setConfirming(true)}>
            Delete webhook
          </Button>
        }
      />
      <Panel title="Subscription">
        <dl className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1 text-sm">
          <dt className="font-medium">URL</dt>
          <dd className="break-all font-mono">{w.url}</dd>
          <dt className="font-medium">Events</dt>
          <dd>{w.events.join(', ')}</dd>
          <dt className="font-medium">Deployment</dt>
          <dd>{w.deploymentId ? deploymentName(w.deploymentId) : 'every deployment'}</dd>
          {w.runId ? (
            <>
              <dt className="font-medium">Run</dt>
              <dd className="font-mono">{w.runId}</dd>
            </>
          ) : null}
          <dt className="font-medium">ID</dt>
          <dd className="font-mono">{w.id}</dd>
          <dt className="font-medium">Created</dt>
          <dd>
            <Time iso={w.createdAt} />
          </dd>
        </dl>
      </Panel>
      <Panel title="Deliveries">
        <WebhookDeliveries
          webhookId={w.id}
          deployment={w.deploymentId ? deploymentName(w.deploymentId) : null}
        />
      </Panel>
      <ConfirmDialog
        open={confirming}
        title="Delete this webhook?"
        confirmLabel="Delete webhook"
        busy={remove.isPending}
        onCancel={() => setConfirming(false)}
        onConfirm={() => remove.mutate()}
      >
        <p>
          <code className="break-all">{w.url}</code> gets no more events, and the delivery history
          goes with it.
        </p>
        {remove.error ? <ErrorNotice error={remove.error} /> : null}
      </ConfirmDialog>
    </>
  );
}
