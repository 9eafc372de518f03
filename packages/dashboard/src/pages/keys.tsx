import type { ApiKey, CreatedApiKey } from '@runtools/sdk/api';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ConfirmDialog } from '../components/key-confirm.tsx';
import { OnceSecret } from '../components/key-copy.tsx';
import { KeyCreateForm } from '../components/key-create-form.tsx';
import { Panel, tableClass, tdClass, thClass } from '../components/key-fields.tsx';
import {
  Button,
  EmptyState,
  ErrorNotice,
  Loading,
  PageHeader,
  StatusBadge,
  Time,
} from '../components/ui.tsx';
import { useClient, useSession } from '../session.tsx';

/** API keys: create one with scopes (shown once), list them by prefix, revoke one. */
export function KeysPage() {
  const rt = useClient();
  const { session } = useSession();
  const queries = useQueryClient();
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);

  const keys = useInfiniteQuery({
    queryKey: ['api-keys'],
    queryFn: ({ pageParam }) =>
      rt.apiKeys.list({ limit: 100, ...(pageParam ? { cursor: pageParam } : {}) }),
    initialPageParam: '',
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });

  const revoke = useMutation({
    mutationFn: (key: ApiKey) => rt.apiKeys.revoke(key.id),
    onSuccess: async () => {
      setRevoking(null);
      await queries.invalidateQueries({ queryKey: ['api-keys'] });
    },
  });

  if (keys.error) {
    return (
      <>
        <PageHeader title="API keys" />
        <ErrorNotice error={keys.error} />
      </>
    );
  }

  const list = keys.data?.pages.flatMap((p) => p.data) ?? [];
  const ownKeyId = session ? session.apiKey.id : null;

  return (
    <>
      <PageHeader title="API keys" />
      {created ? (
        <OnceSecret
          title={`API key "${created.name}" created`}
          label="New API key"
          secret={created.key}
          onDone={() => setCreated(null)}
        >
          <p className="mt-1 text-sm">
            Use it as <code>Authorization: Bearer …</code>, as <code>RUNTOOLS_API_KEY</code> for the
            CLI, or to sign in here.
          </p>
        </OnceSecret>
      ) : null}
      <KeyCreateForm onCreated={setCreated} />
      <Panel title="Keys">
        {keys.isLoading ? (
          <Loading what="API keys" />
        ) : list.length === 0 ? (
          <EmptyState title="No API keys yet">
            Create a key for each app, script or teammate above: give it only the scopes it needs,
            and revoke it when it is no longer used. (The server's <code>RUNTOOLS_API_KEY</code> is
            not listed here.)
          </EmptyState>
        ) : (
          <div className="overflow-x-auto">
            <table className={tableClass}>
              <caption className="sr-only">API keys, newest first</caption>
              <thead>
                <tr>
                  <th className={thClass}>Name</th>
                  <th className={thClass}>Prefix</th>
                  <th className={thClass}>Scopes</th>
                  <th className={thClass}>Deployments</th>
                  <th className={thClass}>Created</th>
                  <th className={thClass}>State</th>
                  <th className={thClass}>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((key) => (
                  <tr key={key.id} className={key.revokedAt ? 'text-zinc-500' : ''}>
                    <td className={tdClass}>
                      {key.name}
                      {key.id === ownKeyId ? (
                        <span className="ml-2 text-xs text-zinc-500">(this session)</span>
                      ) : null}
                    </td>
                    <td className={tdClass}>
                      <code>{key.prefix}…</code>
                    </td>
                    <td className={tdClass}>{key.scopes.join(', ')}</td>
                    <td className={tdClass}>{key.deployments?.join(', ') ?? 'all'}</td>
                    <td className={tdClass}>
                      <Time iso={key.createdAt} />
                    </td>
                    <td className={tdClass}>
                      {key.revokedAt ? (
                        <span>
                          <StatusBadge status="revoked" /> <Time iso={key.revokedAt} />
                        </span>
                      ) : (
                        <StatusBadge status="active" />
                      )}
                    </td>
                    <td className={`${tdClass} text-right`}>
                      {key.revokedAt ? null : (
                        <Button
                          variant="danger"
                          aria-label={`Revoke ${key.name}`}
                          onClick={() => {
                            revoke.reset();
                            setRevoking(key);
                          }}
                        >
                          Revoke
                        </Button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {keys.hasNextPage ? (
          <div className="mt-3">
            <Button onClick={() => void keys.fetchNextPage()} disabled={keys.isFetchingNextPage}>
              Load more keys
            </Button>
          </div>
        ) : null}
      </Panel>
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke "${revoking?.name ?? ''}"?`}
        confirmLabel="Revoke key"
        busy={revoke.isPending}
        onCancel={() => setRevoking(null)}
        onConfirm={() => revoking && revoke.mutate(revoking)}
      >
        <p>
          Every request with the key <code>{revoking?.prefix}…</code> is refused from now on, and
          its open connections and sign-ins end. This cannot be undone.
        </p>
        {revoking?.id === ownKeyId ? (
          <p className="mt-2 font-medium">
            This is the key you are signed in with: you will be signed out.
          </p>
        ) : null}
        {revoke.error ? (
          <div className="mt-2">
            <ErrorNotice error={revoke.error} />
          </div>
        ) : null}
      </ConfirmDialog>
    </>
  );
}
