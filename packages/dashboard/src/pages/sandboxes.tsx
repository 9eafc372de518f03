import { Link } from '@tanstack/react-router';
import { SandboxActions, SandboxStateBadge } from '../components/sandbox-actions.tsx';
import { SandboxCreateForm } from '../components/sandbox-create.tsx';
import { formatAge, formatResources } from '../components/sandbox-format.ts';
import { SandboxPortLinks } from '../components/sandbox-ports.tsx';
import { useSandboxes } from '../components/sandbox-queries.ts';
import { EmptyState, ErrorNotice, Loading, PageHeader } from '../components/ui.tsx';
import { useSession } from '../session.tsx';

const cell = 'px-3 py-2 align-top';

/** `/sandboxes`: every running and paused sandbox, what it runs and listens on, and its controls. */
export function SandboxesPage() {
  const { can } = useSession();
  const sandboxes = useSandboxes();

  return (
    <>
      <PageHeader title="Sandboxes" />
      {can('sandboxes') ? (
        <div className="mb-6">
          <SandboxCreateForm />
        </div>
      ) : null}
      {sandboxes.isPending ? (
        <Loading what="sandboxes" />
      ) : sandboxes.isError ? (
        <ErrorNotice error={sandboxes.error} />
      ) : sandboxes.data.length === 0 ? (
        <EmptyState title="No sandboxes yet">
          <p>
            Create one with <strong>Create sandbox</strong> above, or from a terminal:
          </p>
          <pre className="mt-3 inline-block rounded bg-zinc-100 px-3 py-2 text-left font-mono text-xs text-zinc-800 dark:bg-zinc-900 dark:text-zinc-200">
            runtools sandbox create --template debian-13
          </pre>
          <p className="mt-3">
            or with the SDK: <code>rt.sandboxes.create({"{ template: 'debian-13' }"})</code>.
          </p>
        </EmptyState>
      ) : (
        <div className="overflow-x-auto rounded-lg border border-zinc-200 dark:border-zinc-800">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Running and paused sandboxes, newest first</caption>
            <thead className="bg-zinc-50 text-xs uppercase tracking-wide text-zinc-600 dark:bg-zinc-900 dark:text-zinc-400">
              <tr>
                <th scope="col" className={cell}>
                  Sandbox
                </th>
                <th scope="col" className={cell}>
                  State
                </th>
                <th scope="col" className={cell}>
                  Template
                </th>
                <th scope="col" className={cell}>
                  Age
                </th>
                <th scope="col" className={cell}>
                  Resources
                </th>
                <th scope="col" className={cell}>
                  Ports
                </th>
                <th scope="col" className={cell}>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">
              {sandboxes.data.map((sandbox) => (
                <tr key={sandbox.id}>
                  <th scope="row" className={`${cell} font-normal`}>
                    <Link
                      to={`/sandboxes/${sandbox.id}` as string}
                      className="font-mono text-sky-700 underline underline-offset-2 dark:text-sky-400"
                    >
                      {sandbox.id}
                    </Link>
                  </th>
                  <td className={cell}>
                    <SandboxStateBadge sandbox={sandbox} />
                  </td>
                  <td className={cell}>
                    {sandbox.template}
                    <span className="block text-xs text-zinc-500">{sandbox.templateVersion}</span>
                  </td>
                  <td className={cell}>
                    <time dateTime={sandbox.createdAt} title={sandbox.createdAt}>
                      {formatAge(sandbox.createdAt)}
                    </time>
                  </td>
                  <td className={cell}>{formatResources(sandbox.resources)}</td>
                  <td className={cell}>
                    <SandboxPortLinks sandbox={sandbox} />
                  </td>
                  <td className={cell}>
                    <SandboxActions sandbox={sandbox} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
