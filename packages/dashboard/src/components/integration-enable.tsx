import type { ProjectAgent } from '@runtools/sdk/api';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useClient } from '../session.tsx';
import { inputLookClass } from './key-fields.tsx';
import { Button, ErrorNotice } from './ui.tsx';

/** Whether an agent's `tools` already names the integration (`'github'` or `{ github: […] }`). */
function names(tools: unknown, integration: string): boolean {
  return (
    Array.isArray(tools) &&
    tools.some(
      (t) =>
        t === integration ||
        (t !== null && typeof t === 'object' && Object.hasOwn(t as object, integration)),
    )
  );
}

/**
 * Enables an integration for an agent of the project: its `tools` in the agent file gains the
 * name, written through the builder's API (`PATCH /v1/project/agents/{slug}`), after the diff is
 * shown. Offered only where the server has the project folder (`runtools dev`) and the agent's
 * `tools` is a literal the builder can edit.
 */
export function IntegrationEnable({ integration }: { integration: string }) {
  const client = useClient();
  const queries = useQueryClient();
  const selectId = useId();
  const project = useQuery({
    queryKey: ['project-agents'],
    queryFn: () => client.projectAgents.list(),
  });
  const [slug, setSlug] = useState('');
  const [diff, setDiff] = useState<string | null>(null);
  const agents = (project.data?.agents ?? []).filter((a) => a.editable);
  const agent = agents.find((a) => a.slug === slug);
  const toolsField = agent?.fields.find((f) => f.name === 'tools');
  const edit = (a: ProjectAgent) => {
    const current = (a.fields.find((f) => f.name === 'tools')?.value as unknown[]) ?? [];
    return { baseHash: a.hash, set: { tools: [...current, integration] } };
  };
  const preview = useMutation({
    mutationFn: (a: ProjectAgent) => client.projectAgents.preview(a.slug, edit(a)),
    onSuccess: (p) => setDiff(p.diff),
  });
  const save = useMutation({
    mutationFn: (a: ProjectAgent) => client.projectAgents.update(a.slug, edit(a)),
    onSuccess: () => {
      setDiff(null);
      void queries.invalidateQueries({ queryKey: ['project-agents'] });
    },
  });
  if (project.isError || (project.data && !project.data.editable) || agents.length === 0) {
    return null;
  }
  const already = toolsField !== undefined && names(toolsField.value, integration);
  const why =
    agent === undefined
      ? undefined
      : already
        ? `${agent.slug} has ${integration} already.`
        : toolsField === undefined || !toolsField.editable
          ? `${agent.slug}'s tools are not a list the builder can edit${toolsField?.reason ? ` (${toolsField.reason})` : ''}.`
          : undefined;
  return (
    <div className="space-y-2">
      <div className="flex flex-wrap items-center gap-2">
        <label htmlFor={selectId} className="text-sm font-medium">
          Enable for
        </label>
        <select
          id={selectId}
          value={slug}
          onChange={(e) => {
            setSlug(e.target.value);
            setDiff(null);
            save.reset();
          }}
          className={inputLookClass}
        >
          <option value="">an agent…</option>
          {agents.map((a) => (
            <option key={a.slug} value={a.slug}>
              {a.slug}
            </option>
          ))}
        </select>
        <Button
          disabled={agent === undefined || why !== undefined || preview.isPending}
          onClick={() => agent && preview.mutate(agent)}
        >
          Review the change
        </Button>
      </div>
      {why ? <p className="text-xs text-zinc-600 dark:text-zinc-400">{why}</p> : null}
      {diff !== null && agent ? (
        <figure aria-label={`The change to ${agent.file}`} className="space-y-2">
          <pre className="overflow-auto rounded bg-zinc-100 p-2 font-mono text-xs dark:bg-zinc-900">
            {diff}
          </pre>
          <Button variant="primary" disabled={save.isPending} onClick={() => save.mutate(agent)}>
            {save.isPending ? 'Saving…' : `Save to ${agent.file}`}
          </Button>
        </figure>
      ) : null}
      {save.isSuccess ? (
        <p role="status" className="text-sm text-emerald-700 dark:text-emerald-400">
          {integration} is in {agent?.file ?? 'the agent file'}; runtools dev deploys the change.
        </p>
      ) : null}
      {preview.isError ? <ErrorNotice error={preview.error} /> : null}
      {save.isError ? <ErrorNotice error={save.error} /> : null}
    </div>
  );
}
