import { useParams } from '@tanstack/react-router';
import { useEffect, useRef, useState } from 'react';
import { ErrorNotice, PageHeader } from '../components/ui.tsx';
import { useClient } from '../session.tsx';

/**
 * `/sandboxes/{id}/ports/{port}`: opens a sandbox port in this tab. The signed-in session asks
 * the API for a one-time grant link (a minute, one port) and replaces this page with it; the
 * proxy trades the link for its port cookie and drops it from the URL. The API key is never in
 * a URL.
 */
export function SandboxPortPage() {
  const { sandboxId = '', port = '' } = useParams({ strict: false }) as {
    sandboxId?: string;
    port?: string;
  };
  const client = useClient();
  const [error, setError] = useState<unknown>(null);
  const asked = useRef(false);

  useEffect(() => {
    if (asked.current) return;
    asked.current = true;
    client.sandboxes.ports
      .grant(sandboxId, Number(port))
      .then((grant) => window.location.replace(grant.url))
      .catch(setError);
  }, [client, sandboxId, port]);

  return (
    <>
      <PageHeader title={`Port ${port} of ${sandboxId}`} />
      {error ? (
        <ErrorNotice error={error} />
      ) : (
        <p role="status" className="text-sm text-zinc-600 dark:text-zinc-400">
          Opening port {port}…
        </p>
      )}
    </>
  );
}
