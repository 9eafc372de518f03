import type { Template } from '@runtools/sdk/api';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from '@tanstack/react-router';
import { useState } from 'react';
import { ConfirmDialog } from '../components/key-confirm.tsx';
import { Panel, tableClass, tdClass, thClass } from '../components/key-fields.tsx';
import { BuildMonitor } from '../components/template-build-log.tsx';
import { buildDuration, TemplateVersions } from '../components/template-versions.tsx';
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

const linkClass = 'text-sky-700 underline dark:text-sky-400';
const codeBlock =
  'max-h-96 overflow-auto rounded-md bg-zinc-100 p-3 font-mono text-xs leading-5 dark:bg-zinc-900';
const inProgress = (status: string | undefined) => status === 'queued' || status === 'building';

/** What a template is built from: a spec (JSON), or a Dockerfile and its context, read-only. */
function Definition({ template }: { template: Template }) {
  if (template.kind === 'dockerfile') {
    return (
      <>
        <p className="mb-2 text-sm text-zinc-600 dark:text-zinc-400">
          A Dockerfile template is shown read-only here: change it with{' '}
          <code>PUT /v1/templates/{template.slug}</code> or <code>rt.templates.update()</code>.
        </p>
        <h3 className="mb-1 text-sm font-medium">Dockerfile</h3>
        <pre className={codeBlock}>{template.dockerfile}</pre>
        <h3 className="mt-3 text-sm font-medium">Build context</h3>
        {template.files && template.files.length > 0 ? (
          <ul
            aria-label="Build context files"
            className="mt-1 list-inside list-disc font-mono text-xs"
          >
            {template.files.map((f) => (
              <li key={f}>{f}</li>
            ))}
          </ul>
        ) : (
          <p className="text-sm text-zinc-600 dark:text-zinc-400">No files.</p>
        )}
      </>
    );
  }
  return (
    <>
      {template.kind === 'system' ? (
        <p className="mb-2 text-sm text-zinc-600 dark:text-zinc-400">
          A system template: part of RunTools, built by each server the first time a sandbox uses
          it. Read-only.
        </p>
      ) : null}
      <h3 className="mb-1 text-sm font-medium">Spec</h3>
      <pre className={codeBlock}>{JSON.stringify(template.spec, null, 2)}</pre>
    </>
  );
}

/** One template: its definition, versions, build history and a build's log streamed live. */
export function TemplatePage() {
  const { slug } = useParams({ strict: false }) as { slug: string };
  const rt = useClient();
  const { can } = useSession();
  const queries = useQueryClient();
  const navigate = useNavigate();
  const [selected, setSelected] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);

  const template = useQuery({
    queryKey: ['template', slug],
    queryFn: () => rt.templates.get(slug),
    refetchInterval: (query) => (inProgress(query.state.data?.status) ? 2000 : false),
  });
  const builds = useInfiniteQuery({
    queryKey: ['template-builds', slug],
    queryFn: ({ pageParam }) =>
      rt.templates.builds.list(slug, { limit: 20, ...(pageParam ? { cursor: pageParam } : {}) }),
    initialPageParam: '',
    getNextPageParam: (page) => page.nextCursor ?? undefined,
    refetchInterval: () => (inProgress(template.data?.status) ? 2000 : false),
  });
  const refresh = async () => {
    await queries.invalidateQueries({ queryKey: ['template', slug] });
    await queries.invalidateQueries({ queryKey: ['template-builds', slug] });
    await queries.invalidateQueries({ queryKey: ['templates'] });
  };
  const rebuild = useMutation({
    mutationFn: () => rt.templates.builds.create(slug),
    onSuccess: async (build) => {
      setSelected(build.id);
      await refresh();
    },
  });
  const remove = useMutation({
    mutationFn: () => rt.templates.delete(slug),
    onSuccess: async () => {
      setConfirming(false);
      await queries.invalidateQueries({ queryKey: ['templates'] });
      await navigate({ to: '/templates' as string });
    },
  });

  const back = (
    <Link to={'/templates' as string} className={`text-sm ${linkClass}`}>
      ← Templates
    </Link>
  );
  if (template.error) {
    return (
      <>
        {back}
        <PageHeader title={slug} />
        <ErrorNotice error={template.error} />
      </>
    );
  }
  if (template.data === undefined) return <Loading what="the template" />;
  const t = template.data;
  const list = builds.data?.pages.flatMap((p) => p.data) ?? [];
  const shownBuild = selected ?? t.build?.id ?? list[0]?.id ?? null;
  const editable = t.kind !== 'system' && can('deploy');

  return (
    <>
      {back}
      <PageHeader
        title={t.slug}
        actions={
          editable ? (
            <>
              {t.kind === 'spec' ? (
                <Link
                  to={'/templates/new' as string}
                  search={{ from: t.slug } as never}
                  className="rounded-md border border-zinc-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-zinc-50 dark:border-zinc-700 dark:bg-zinc-900 dark:hover:bg-zinc-800"
                >
                  Edit in the Template Builder
                </Link>
              ) : null}
              <Button onClick={() => rebuild.mutate()} disabled={rebuild.isPending}>
                {rebuild.isPending ? 'Starting…' : 'Rebuild'}
              </Button>
              <Button variant="danger" onClick={() => setConfirming(true)}>
                Delete template
              </Button>
            </>
          ) : null
        }
      />
      <p className="-mt-4 mb-6 flex flex-wrap items-center gap-2 text-sm">
        <StatusBadge status={t.status} />
        <span>
          {t.kind === 'dockerfile' ? 'Dockerfile' : t.kind} template · version{' '}
          <code>{t.version ?? 'none yet'}</code> ·{' '}
          {t.builtHere ? 'built on this server' : 'not built on this server'}
        </span>
      </p>
      {rebuild.error ? <ErrorNotice error={rebuild.error} /> : null}
      <div className="grid gap-6 xl:grid-cols-2">
        <Panel title="Definition">
          <Definition template={t} />
        </Panel>
        <Panel title="Versions">
          <TemplateVersions template={t} builds={list} />
        </Panel>
      </div>
      <Panel title="Builds">
        {builds.error ? <ErrorNotice error={builds.error} /> : null}
        {list.length === 0 ? (
          <EmptyState title="No builds">
            {t.kind === 'system'
              ? 'System templates are built by each server on first use, without build records.'
              : t.status === 'pending'
                ? 'Defined on a server without a sandbox engine: the first server that creates a sandbox from it builds it.'
                : 'Rebuild it to start one.'}
          </EmptyState>
        ) : (
          <div className="overflow-x-auto">
            <table className={tableClass}>
              <caption className="sr-only">Builds, newest first</caption>
              <thead>
                <tr>
                  <th className={thClass}>Build</th>
                  <th className={thClass}>Status</th>
                  <th className={thClass}>Started</th>
                  <th className={thClass}>Duration</th>
                  <th className={thClass}>Version</th>
                  <th className={thClass}>Server</th>
                  <th className={thClass}>
                    <span className="sr-only">Log</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((b) => (
                  <tr
                    key={b.id}
                    className={b.id === shownBuild ? 'bg-sky-50 dark:bg-sky-950/40' : ''}
                  >
                    <td className={`${tdClass} font-mono`}>{b.id}</td>
                    <td className={tdClass}>
                      <StatusBadge status={b.status} />
                    </td>
                    <td className={tdClass}>
                      <Time iso={b.startedAt ?? b.createdAt} />
                    </td>
                    <td className={tdClass}>{buildDuration(b)}</td>
                    <td className={`${tdClass} font-mono`}>{b.version ?? '—'}</td>
                    <td className={tdClass}>{b.server ?? '—'}</td>
                    <td className={`${tdClass} text-right`}>
                      <Button
                        aria-pressed={b.id === shownBuild}
                        aria-label={`Show the log of build ${b.id}`}
                        onClick={() => setSelected(b.id)}
                      >
                        {b.id === shownBuild ? 'Log shown' : 'Show log'}
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {builds.hasNextPage ? (
          <div className="mt-3">
            <Button
              onClick={() => void builds.fetchNextPage()}
              disabled={builds.isFetchingNextPage}
            >
              Load more builds
            </Button>
          </div>
        ) : null}
        {shownBuild ? (
          <div className="mt-4">
            <h3 className="mb-2 text-sm font-medium">
              Build <code>{shownBuild}</code>
            </h3>
            <BuildMonitor
              key={shownBuild}
              slug={t.slug}
              buildId={shownBuild}
              onEnd={() => void refresh()}
            />
          </div>
        ) : null}
      </Panel>
      <ConfirmDialog
        open={confirming}
        title={`Delete template "${t.slug}"?`}
        confirmLabel="Delete template"
        busy={remove.isPending}
        onCancel={() => setConfirming(false)}
        onConfirm={() => remove.mutate()}
      >
        <p>
          Its definition, builds and built versions go. Refused while a deployment or a sandbox uses
          it.
        </p>
        {remove.error ? (
          <div className="mt-2">
            <ErrorNotice error={remove.error} />
          </div>
        ) : null}
      </ConfirmDialog>
    </>
  );
}
