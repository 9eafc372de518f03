import type { Sandbox } from '@runtools/sdk/api';
import { useSandboxPorts } from './sandbox-queries.ts';

/**
 * The ports something listens on in a sandbox, as links. A link goes to the dashboard's own
 * `/sandboxes/{id}/ports/{port}` page (so it can be opened in a new tab, copied or bookmarked
 * with no credential in it), which asks the API for a one-time grant and goes on to the port
 * through the proxy: on its own host name when the server has a domain.
 */
export function SandboxPortLinks({ sandbox }: { sandbox: Pick<Sandbox, 'id' | 'state'> }) {
  const ports = useSandboxPorts(sandbox);
  if (sandbox.state !== 'running') {
    return <span className="text-zinc-500">— ({sandbox.state})</span>;
  }
  if (ports.isPending) return <span className="text-zinc-500">…</span>;
  if (ports.isError) {
    return (
      <span className="text-red-700 dark:text-red-400" title={ports.error.message}>
        unavailable
      </span>
    );
  }
  if (ports.data.length === 0) return <span className="text-zinc-500">none listening</span>;
  return (
    <ul aria-label={`Ports of ${sandbox.id}`} className="flex flex-wrap gap-2">
      {ports.data.map(({ port, addresses }) => (
        <li key={port}>
          <a
            href={`/sandboxes/${encodeURIComponent(sandbox.id)}/ports/${port}`}
            target="_blank"
            rel="noopener noreferrer"
            aria-label={`Port ${port} of ${sandbox.id} (opens in a new tab)`}
            title={`Listening on ${addresses.join(', ')}`}
            className="rounded font-mono text-sky-700 underline underline-offset-2 hover:text-sky-900 dark:text-sky-400 dark:hover:text-sky-300"
          >
            {port}
          </a>
        </li>
      ))}
    </ul>
  );
}
