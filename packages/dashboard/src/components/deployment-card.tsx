import type { Deployment } from '@runtools/sdk/api';
import { Link } from '@tanstack/react-router';
import { useSession } from '../session.tsx';
import { DeploymentEndpoints } from './deployment-endpoints.tsx';
import { DeploymentTryIt } from './deployment-try-it.tsx';
import { runsPath } from './run-format.ts';
import { Time } from './ui.tsx';

function Field({ name, children }: { name: string; children: React.ReactNode }) {
  return (
    <div>
      <dt className="text-xs font-medium text-zinc-600 dark:text-zinc-400">{name}</dt>
      <dd className="mt-0.5 text-sm">{children}</dd>
    </div>
  );
}

/** One deployment: the agent it serves, where, how to call it, and a box to try it. */
export function DeploymentCard({ deployment }: { deployment: Deployment }) {
  const { can } = useSession();
  const { agent } = deployment;
  const headingId = `deployment-${deployment.id}`;
  return (
    <section
      aria-labelledby={headingId}
      className="rounded-lg border border-zinc-200 p-5 dark:border-zinc-800"
    >
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h2 id={headingId} className="font-mono text-lg font-semibold">
          {deployment.apiSlug}
        </h2>
        <Link
          to={runsPath}
          search={{ deployment: deployment.id }}
          className="text-sm text-sky-700 underline dark:text-sky-400"
        >
          Runs of {deployment.apiSlug}
        </Link>
      </div>
      {agent?.description ? (
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{agent.description}</p>
      ) : null}
      <div className="mt-4 grid gap-6 lg:grid-cols-2">
        <div className="space-y-4">
          <dl className="grid grid-cols-2 gap-3">
            <Field name="Agent">
              {agent ? (
                <>
                  {agent.name ?? agent.slug}{' '}
                  <span className="text-zinc-500 dark:text-zinc-400">
                    ({agent.slug} v{agent.version})
                  </span>
                </>
              ) : (
                <span>runtime {deployment.runtimeId} is gone</span>
              )}
            </Field>
            <Field name="Model">
              <code className="font-mono">{agent?.model ?? '—'}</code>
            </Field>
            <Field name="Tools">
              {agent && agent.tools.length > 0 ? (
                <ul className="flex flex-wrap gap-1">
                  {agent.tools.map((tool) => (
                    <li
                      key={tool}
                      className="rounded bg-zinc-100 px-1.5 py-0.5 font-mono text-xs dark:bg-zinc-800"
                    >
                      {tool}
                    </li>
                  ))}
                </ul>
              ) : (
                'none'
              )}
            </Field>
            <Field name="Template">
              <code className="font-mono">{deployment.template}</code>
            </Field>
            <Field name="Updated">
              <Time iso={deployment.updatedAt} />
            </Field>
            <Field name="Id">
              <code className="font-mono text-xs">{deployment.id}</code>
            </Field>
          </dl>
          <div>
            <h3 className="mb-2 text-sm font-semibold">Endpoints</h3>
            <DeploymentEndpoints apiSlug={deployment.apiSlug} />
          </div>
        </div>
        <div>
          <h3 className="mb-2 text-sm font-semibold">Try it</h3>
          {can('run') ? (
            <DeploymentTryIt apiSlug={deployment.apiSlug} />
          ) : (
            <p className="text-sm text-zinc-600 dark:text-zinc-400">
              Running it needs a key with the <code>run</code> scope.
            </p>
          )}
        </div>
      </div>
    </section>
  );
}
