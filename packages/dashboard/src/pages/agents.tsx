import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { useState } from 'react';
import { Button, EmptyState, ErrorNotice, Loading, PageHeader } from '../components/ui.tsx';
import { useClient } from '../session.tsx';

/** The project's agent files (under `runtools dev`), or the deployed agents read-only. */
export function AgentsPage() {
  const client = useClient();
  const queries = useQueryClient();
  const navigate = useNavigate();
  const list = useQuery({
    queryKey: ['project-agents'],
    queryFn: () => client.projectAgents.list(),
  });
  const [creating, setCreating] = useState(false);
  const [slug, setSlug] = useState('');
  const [error, setError] = useState<unknown>(null);
  const create = async () => {
    setError(null);
    try {
      const agent = await client.projectAgents.create({ slug });
      await queries.invalidateQueries({ queryKey: ['project-agents'] });
      await navigate({ to: `/agents/${encodeURIComponent(agent.slug)}` as string });
    } catch (e) {
      setError(e);
    }
  };
  return (
    <>
      <PageHeader
        title="Agents"
        actions={
          list.data?.editable ? (
            <Button variant="primary" onClick={() => setCreating(true)}>
              New agent
            </Button>
          ) : null
        }
      />
      {creating ? (
        <div className="mb-4 flex items-end gap-2">
          <label className="space-y-1">
            <span className="block text-sm font-medium">Slug of the new agent</span>
            <input
              className="rounded-md border border-zinc-300 px-2 py-1 text-sm dark:border-zinc-700 dark:bg-zinc-900"
              value={slug}
              onChange={(e) => setSlug(e.target.value)}
            />
          </label>
          <Button variant="primary" disabled={slug === ''} onClick={() => void create()}>
            Create agents/{slug || 'SLUG'}.ts
          </Button>
        </div>
      ) : null}
      {error ? <ErrorNotice error={error} /> : null}
      {list.isPending ? <Loading what="agents" /> : null}
      {list.isError ? <ErrorNotice error={list.error} /> : null}
      {list.data && !list.data.editable ? (
        <p className="mb-3 text-sm text-zinc-500">
          This server has no project folder: its deployed agents are shown read-only. Run{' '}
          <code>runtools dev</code> in the project to edit them here.
        </p>
      ) : null}
      {list.data?.agents.length === 0 ? <EmptyState title="No agents yet" /> : null}
      <ul className="divide-y divide-zinc-200 dark:divide-zinc-800">
        {list.data?.agents.map((a) => (
          <li key={a.file} className="flex items-center justify-between py-2">
            <Link
              to={`/agents/${encodeURIComponent(a.slug)}` as string}
              className="font-medium text-sky-700 dark:text-sky-400"
            >
              {a.slug}
            </Link>
            <span className="text-xs text-zinc-500">
              {a.file}
              {a.editable ? '' : ' · read-only'}
            </span>
          </li>
        ))}
      </ul>
    </>
  );
}
