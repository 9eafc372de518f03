import { useNavigate, useParams } from '@tanstack/react-router';
import { lazy, Suspense } from 'react';
import { FileBrowser } from '../components/file-browser.tsx';
import { SandboxActions, SandboxStateBadge } from '../components/sandbox-actions.tsx';
import { formatAge, formatNetwork, formatResources } from '../components/sandbox-format.ts';
import { SandboxPortLinks } from '../components/sandbox-ports.tsx';
import { usePendingAction, useSandbox } from '../components/sandbox-queries.ts';
import { ErrorNotice, Loading, PageHeader, Time } from '../components/ui.tsx';

// xterm.js is most of the bundle: only this page loads it.
const SandboxTerminal = lazy(() =>
  import('../components/terminal.tsx').then((m) => ({ default: m.SandboxTerminal })),
);

function Fact({ term, children }: { term: string; children: React.ReactNode }) {
  return (
    <div>
      <dt className="text-xs font-medium uppercase tracking-wide text-zinc-500">{term}</dt>
      <dd className="mt-0.5 text-sm">{children}</dd>
    </div>
  );
}

/** `/sandboxes/{id}`: one sandbox, its controls and ports, a terminal in it and its files. */
export function SandboxPage() {
  const { sandboxId = '' } = useParams({ strict: false }) as { sandboxId?: string };
  const navigate = useNavigate();
  const query = useSandbox(sandboxId);
  const pending = usePendingAction(sandboxId);

  if (query.isPending) return <Loading what={sandboxId} />;
  if (query.isError) {
    return (
      <>
        <PageHeader title={sandboxId} />
        <ErrorNotice error={query.error} />
      </>
    );
  }
  const sandbox = query.data;
  // Nothing connects to a sandbox while it changes state (a connection would resume it).
  const running = sandbox.state === 'running' && pending === undefined;
  return (
    <>
      <PageHeader
        title={sandbox.id}
        actions={
          <SandboxActions
            sandbox={sandbox}
            onDeleted={() => void navigate({ to: '/sandboxes' as string })}
          />
        }
      />
      <dl className="mb-8 grid grid-cols-2 gap-4 rounded-lg border border-zinc-200 p-4 sm:grid-cols-3 lg:grid-cols-6 dark:border-zinc-800">
        <Fact term="State">
          <SandboxStateBadge sandbox={sandbox} />
        </Fact>
        <Fact term="Template">
          {sandbox.template}{' '}
          <span className="text-xs text-zinc-500">{sandbox.templateVersion}</span>
        </Fact>
        <Fact term="Age">
          <time dateTime={sandbox.createdAt} title={sandbox.createdAt}>
            {formatAge(sandbox.createdAt)}
          </time>
        </Fact>
        <Fact term="Resources">
          {formatResources(sandbox.resources)}, {formatNetwork(sandbox.network)}
        </Fact>
        <Fact term={sandbox.onTimeout === 'pause' ? 'Timeout pauses it at' : 'Timeout ends it at'}>
          {sandbox.expiresAt ? <Time iso={sandbox.expiresAt} /> : 'no timeout'}
        </Fact>
        <Fact term="Ports">
          <SandboxPortLinks sandbox={sandbox} />
        </Fact>
      </dl>
      <h2 className="mb-3 text-lg font-semibold">Terminal</h2>
      <Suspense fallback={<Loading what="the terminal" />}>
        <SandboxTerminal sandboxId={sandbox.id} running={running} />
      </Suspense>
      <h2 className="mt-10 mb-3 text-lg font-semibold">Files</h2>
      <FileBrowser sandboxId={sandbox.id} startPath={sandbox.cwd} running={running} />
    </>
  );
}
