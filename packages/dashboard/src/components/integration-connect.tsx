import type { CatalogIntegration } from '@runtools/sdk/api';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useClient } from '../session.tsx';
import { Button, ErrorNotice, Time } from './ui.tsx';

/**
 * Connects an account to an integration by the service's OAuth consent (admin): the consent
 * page opens in a new window, and the catalog is read again every two seconds until the account
 * it connected shows (or the consent expires).
 */
export function IntegrationConnect({ integration }: { integration: CatalogIntegration }) {
  const client = useClient();
  const queries = useQueryClient();
  const [waitingUntil, setWaitingUntil] = useState<number | null>(null);
  const [since] = useState(integration.connection?.connectedAt);
  const start = useMutation({
    mutationFn: () => client.tools.connect(integration.name),
    onSuccess: (started) => {
      window.open(started.authorizeUrl, '_blank', 'noopener');
      setWaitingUntil(Date.parse(started.expiresAt));
    },
  });
  const connectedNow =
    integration.connection !== null && integration.connection.connectedAt !== since;
  useEffect(() => {
    if (waitingUntil === null || connectedNow) return;
    const timer = setInterval(() => {
      if (Date.now() > waitingUntil) setWaitingUntil(null);
      void queries.invalidateQueries({ queryKey: ['tools'] });
    }, 2000);
    return () => clearInterval(timer);
  }, [waitingUntil, connectedNow, queries]);
  return (
    <div className="space-y-1 text-sm">
      {integration.connection ? (
        <p role="status">
          Connected: <strong>{integration.connection.account}</strong> (since{' '}
          <Time iso={integration.connection.connectedAt} />)
        </p>
      ) : null}
      <div className="flex flex-wrap items-center gap-2">
        <Button onClick={() => start.mutate()} disabled={start.isPending}>
          {integration.connection
            ? `Connect another ${integration.title} account`
            : `Connect ${integration.title}`}
        </Button>
        {waitingUntil !== null && !connectedNow ? (
          <span className="text-xs text-zinc-600 dark:text-zinc-400">
            Waiting for the consent in the other window…
          </span>
        ) : null}
      </div>
      {start.isError ? <ErrorNotice error={start.error} /> : null}
    </div>
  );
}
