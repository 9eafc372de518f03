import type { CatalogIntegration } from '@runtools/sdk/api';
import { useSession } from '../session.tsx';
import { IntegrationConnect } from './integration-connect.tsx';
import { IntegrationEnable } from './integration-enable.tsx';
import { SecretSetForm } from './secret-set-form.tsx';
import { StatusBadge } from './ui.tsx';

/**
 * A marketplace integration as the catalog shows it: what it does, the secrets it reads (set or
 * not, and a form to set them for an admin), its actions with what each asks before it runs, and
 * enabling it for an agent of the project.
 */
export function CatalogIntegrationCard({ integration }: { integration: CatalogIntegration }) {
  const { can } = useSession();
  return (
    <section
      aria-label={`Integration ${integration.title}`}
      className="space-y-3 rounded-lg border border-zinc-200 p-4 dark:border-zinc-800"
    >
      <div className="flex flex-wrap items-center gap-3">
        <h3 className="text-base font-semibold">{integration.title}</h3>
        <code className="font-mono text-xs">{integration.name}</code>
        <StatusBadge status={integration.configured ? 'configured' : 'not configured'} />
      </div>
      <p className="text-sm text-zinc-700 dark:text-zinc-300">{integration.description}</p>
      {integration.oauth && can('admin') ? <IntegrationConnect integration={integration} /> : null}
      {integration.oauth && !can('admin') && integration.connection ? (
        <p className="text-sm">Connected: {integration.connection.account}</p>
      ) : null}
      <div>
        <h4 className="text-xs font-semibold uppercase tracking-wide text-zinc-500">Secrets</h4>
        <ul className="mt-1 space-y-2">
          {integration.secrets.map((secret) => (
            <li key={secret.name} className="text-sm">
              <div className="flex flex-wrap items-center gap-2">
                <code className="font-mono">{secret.name}</code>
                <span className="text-xs text-zinc-600 dark:text-zinc-400">
                  {secret.configured ? 'set' : secret.required ? 'not set' : 'optional, not set'}
                </span>
              </div>
              <p className="text-xs text-zinc-600 dark:text-zinc-400">{secret.description}</p>
              {can('admin') ? (
                <SecretSetForm name={secret.name} />
              ) : (
                <p className="text-xs text-zinc-600 dark:text-zinc-400">
                  An admin sets it: <code>runtools secrets set {secret.name}</code>
                </p>
              )}
            </li>
          ))}
        </ul>
      </div>
      <div>
        <h4 className="text-xs font-semibold uppercase tracking-wide text-zinc-500">Actions</h4>
        <ul className="mt-1 divide-y divide-zinc-200 text-sm dark:divide-zinc-800">
          {integration.actions.map((action) => (
            <li key={action.name} className="flex flex-wrap items-baseline gap-2 py-1.5">
              <code className="font-mono">{action.name}</code>
              {action.approval === 'always' ? (
                <span className="rounded bg-violet-100 px-1.5 text-xs text-violet-900 dark:bg-violet-900 dark:text-violet-100">
                  asks a person first
                </span>
              ) : null}
              <span className="w-full text-xs text-zinc-600 dark:text-zinc-400">
                {action.description}
              </span>
            </li>
          ))}
        </ul>
      </div>
      {can('deploy') ? <IntegrationEnable integration={integration.name} /> : null}
    </section>
  );
}
