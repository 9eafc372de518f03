import {
  type ApiKeyInput,
  type ApiScope,
  apiKeyInputSchema,
  apiScopes,
  type CreatedApiKey,
} from '@runtools/sdk/api';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useClient, useSession } from '../session.tsx';
import { useDeploymentChoices } from './key-deployment-choices.ts';
import { Checkbox, Panel, TextField } from './key-fields.tsx';
import { Button, ErrorNotice } from './ui.tsx';

/** What each scope lets a key do (the contract's `apiScopes`, in words). */
export const scopeDescriptions: Record<ApiScope, string> = {
  admin: 'API keys and webhooks',
  deploy: 'templates, runtimes and deployments',
  run: 'start runs, read and control them',
  sandboxes: 'the sandbox API and its ports',
};

/**
 * Creates an API key with a name, scopes (only those the session's own key holds) and optionally
 * a restriction to some deployments (such a key holds only `run`). The plaintext key goes to
 * `onCreated`, the one time the API returns it.
 */
export function KeyCreateForm({ onCreated }: { onCreated: (key: CreatedApiKey) => void }) {
  const rt = useClient();
  const { can } = useSession();
  const queries = useQueryClient();
  const deployments = useDeploymentChoices();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<ApiScope[]>(() => (can('run') ? ['run'] : []));
  const [restrictTo, setRestrictTo] = useState<string[]>([]);
  const [submitted, setSubmitted] = useState(false);

  const restricted = restrictTo.length > 0;
  const input: ApiKeyInput = {
    name: name.trim(),
    scopes: restricted ? ['run'] : scopes,
    ...(restricted ? { deployments: restrictTo } : {}),
  };
  const parsed = apiKeyInputSchema.safeParse(input);
  const issue = (field: string) =>
    parsed.success ? undefined : parsed.error.issues.find((i) => i.path[0] === field)?.message;

  const create = useMutation({
    mutationFn: (body: ApiKeyInput) => rt.apiKeys.create(body),
    onSuccess: async (key) => {
      setName('');
      setRestrictTo([]);
      setSubmitted(false);
      onCreated(key);
      await queries.invalidateQueries({ queryKey: ['api-keys'] });
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (parsed.success) create.mutate(parsed.data);
  };

  return (
    <Panel title="Create an API key">
      <form onSubmit={submit} noValidate className="space-y-4">
        <TextField
          label="Name"
          value={name}
          onChange={setName}
          placeholder="ci, web app, alice's laptop"
          hint="Who or what uses the key, so you know which one to revoke."
          error={
            submitted ? (name.trim() === '' ? 'Give the key a name.' : issue('name')) : undefined
          }
        />
        <fieldset>
          <legend className="text-sm font-medium">Scopes</legend>
          <div className="mt-2 grid gap-2 sm:grid-cols-2">
            {apiScopes.map((scope) => (
              <Checkbox
                key={scope}
                label={scope}
                checked={restricted ? scope === 'run' : scopes.includes(scope)}
                disabled={restricted || !can(scope)}
                description={
                  can(scope)
                    ? scopeDescriptions[scope]
                    : `${scopeDescriptions[scope]} (your key lacks it, so it cannot give it)`
                }
                onChange={(on) =>
                  setScopes(
                    on
                      ? apiScopes.filter((s) => s === scope || scopes.includes(s))
                      : scopes.filter((s) => s !== scope),
                  )
                }
              />
            ))}
          </div>
          {submitted && !restricted && scopes.length === 0 ? (
            <p className="mt-1 text-sm text-red-700 dark:text-red-400">
              <span aria-hidden="true">⚠ </span>Choose at least one scope.
            </p>
          ) : null}
        </fieldset>
        <fieldset>
          <legend className="text-sm font-medium">Restrict to deployments (optional)</legend>
          <p className="text-xs text-zinc-600 dark:text-zinc-400">
            A restricted key, as an app embeds, starts and reads runs of these deployments only, and
            holds only the <code>run</code> scope.
          </p>
          {deployments.data === undefined ? (
            <p className="mt-2 text-xs text-zinc-600 dark:text-zinc-400">
              {deployments.isLoading ? 'Loading deployments…' : 'No deployments to list.'}
            </p>
          ) : deployments.data.length === 0 ? (
            <p className="mt-2 text-xs text-zinc-600 dark:text-zinc-400">No deployments yet.</p>
          ) : (
            <div className="mt-2 grid gap-2 sm:grid-cols-3">
              {deployments.data.map((d) => (
                <Checkbox
                  key={d.id}
                  label={d.apiSlug}
                  checked={restrictTo.includes(d.apiSlug)}
                  onChange={(on) =>
                    setRestrictTo(
                      on ? [...restrictTo, d.apiSlug] : restrictTo.filter((s) => s !== d.apiSlug),
                    )
                  }
                />
              ))}
            </div>
          )}
        </fieldset>
        {create.error ? <ErrorNotice error={create.error} /> : null}
        <Button type="submit" variant="primary" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create key'}
        </Button>
      </form>
    </Panel>
  );
}
