import type { SandboxInput } from '@runtools/sdk/api';
import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { type FormEvent, useState } from 'react';
import { useClient } from '../session.tsx';
import { useCreateSandbox } from './sandbox-queries.ts';
import { Button } from './ui.tsx';

const timeouts: Array<{ label: string; ms: number }> = [
  { label: '15 minutes', ms: 15 * 60_000 },
  { label: '1 hour', ms: 3600_000 },
  { label: '1 day', ms: 24 * 3600_000 },
  { label: 'none', ms: 0 },
];

const field =
  'rounded-md border border-zinc-300 bg-white px-2 py-1.5 text-sm dark:border-zinc-700 dark:bg-zinc-900';

/**
 * Starts a sandbox: a template (the server's templates, ready ones first), a timeout (after
 * which it is paused, so a forgotten sandbox keeps no CPU), and whether it may reach out.
 */
export function SandboxCreateForm() {
  const client = useClient();
  const templates = useQuery({
    queryKey: ['templates', 'list'],
    queryFn: () => client.templates.list({ limit: 100 }),
  });
  const create = useCreateSandbox();
  const [template, setTemplate] = useState('');
  const [timeoutMs, setTimeoutMs] = useState(timeouts[0]?.ms ?? 0);
  const [egress, setEgress] = useState(false);

  const choices = [...(templates.data?.data ?? [])].sort(
    (a, b) => Number(b.status === 'ready') - Number(a.status === 'ready'),
  );
  const chosen =
    template ||
    choices.find((t) => t.slug === 'debian-13')?.slug ||
    choices.find((t) => t.status === 'ready')?.slug ||
    '';

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const input: SandboxInput = {
      template: chosen,
      timeoutMs,
      onTimeout: 'pause',
      ...(egress ? { network: { mode: 'egress' } } : {}),
    };
    create.mutate(input);
  };

  return (
    <form
      onSubmit={submit}
      aria-label="New sandbox"
      className="flex flex-wrap items-end gap-3 rounded-lg border border-zinc-200 p-3 dark:border-zinc-800"
    >
      <label className="flex flex-col gap-1 text-xs font-medium">
        Template
        <select
          className={field}
          value={chosen}
          onChange={(e) => setTemplate(e.target.value)}
          disabled={templates.isPending}
          required
        >
          {templates.isPending ? <option value="">Loading…</option> : null}
          {choices.map((t) => (
            <option key={t.slug} value={t.slug} disabled={t.status === 'failed'}>
              {t.slug}
              {t.status === 'ready' ? '' : ` (${t.status})`}
            </option>
          ))}
        </select>
      </label>
      <label className="flex flex-col gap-1 text-xs font-medium">
        Pause after
        <select
          className={field}
          value={timeoutMs}
          onChange={(e) => setTimeoutMs(Number(e.target.value))}
        >
          {timeouts.map((t) => (
            <option key={t.ms} value={t.ms}>
              {t.label}
            </option>
          ))}
        </select>
      </label>
      <label className="flex items-center gap-2 py-1.5 text-sm">
        <input type="checkbox" checked={egress} onChange={(e) => setEgress(e.target.checked)} />
        Outbound network
      </label>
      <Button type="submit" variant="primary" disabled={create.isPending || chosen === ''}>
        {create.isPending ? 'Creating…' : 'Create sandbox'}
      </Button>
      <div role="status" className="w-full text-sm empty:hidden">
        {create.isPending ? `Creating a sandbox from ${chosen}…` : null}
        {create.isSuccess ? (
          <>
            Created{' '}
            <Link
              to={`/sandboxes/${create.data.id}` as string}
              className="font-mono text-sky-700 underline dark:text-sky-400"
            >
              {create.data.id}
            </Link>
            .
          </>
        ) : null}
      </div>
      {create.isError ? (
        <p role="alert" className="w-full text-sm text-red-700 dark:text-red-400">
          {(create.error as { code?: string }).code ?? 'error'}: {create.error.message}
        </p>
      ) : null}
      {templates.isError ? (
        <p role="alert" className="w-full text-sm text-red-700 dark:text-red-400">
          The templates could not be listed: {templates.error.message}
        </p>
      ) : null}
    </form>
  );
}
