import { useInfiniteQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import {
  Panel,
  primaryLinkClass,
  tableClass,
  tdClass,
  thClass,
} from '../components/key-fields.tsx';
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

const kindLabels = { system: 'system', spec: 'spec', dockerfile: 'Dockerfile' } as const;

/** Templates: the system ones and the defined ones (spec or Dockerfile), with status and version. */
export function TemplatesPage() {
  const rt = useClient();
  const { can } = useSession();
  const templates = useInfiniteQuery({
    queryKey: ['templates', 'list'],
    queryFn: ({ pageParam }) =>
      rt.templates.list({ limit: 100, ...(pageParam ? { cursor: pageParam } : {}) }),
    initialPageParam: '',
    getNextPageParam: (page) => page.nextCursor ?? undefined,
    // A build in progress shows its status changing.
    refetchInterval: (query) =>
      query.state.data?.pages.some((p) =>
        p.data.some((t) => t.status === 'queued' || t.status === 'building'),
      )
        ? 2000
        : false,
  });

  const header = (
    <PageHeader
      title="Templates"
      actions={
        can('deploy') ? (
          <Link to={'/templates/new' as string} className={primaryLinkClass}>
            New template
          </Link>
        ) : null
      }
    />
  );
  if (templates.error) {
    return (
      <>
        {header}
        <ErrorNotice error={templates.error} />
      </>
    );
  }
  if (templates.data === undefined) {
    return (
      <>
        {header}
        <Loading what="templates" />
      </>
    );
  }
  const list = templates.data.pages.flatMap((p) => p.data);
  const custom = list.filter((t) => t.kind !== 'system');

  return (
    <>
      {header}
      {custom.length === 0 ? (
        <div className="mb-6">
          <EmptyState title="No templates of your own yet">
            The system templates below are ready to use. For one with your packages, open the{' '}
            <Link
              to={'/templates/new' as string}
              className="text-sky-700 underline dark:text-sky-400"
            >
              Template Builder
            </Link>{' '}
            or run{' '}
            <code>
              rt.templates.create({'{'} slug: 'my-app', os: 'debian-13', apt: ['jq'] {'}'})
            </code>
            .
          </EmptyState>
        </div>
      ) : null}
      <Panel title="All templates">
        <div className="overflow-x-auto">
          <table className={tableClass}>
            <caption className="sr-only">Templates in name order</caption>
            <thead>
              <tr>
                <th className={thClass}>Name</th>
                <th className={thClass}>Kind</th>
                <th className={thClass}>Status</th>
                <th className={thClass}>Current version</th>
                <th className={thClass}>On this server</th>
                <th className={thClass}>Updated</th>
              </tr>
            </thead>
            <tbody>
              {list.map((t) => (
                <tr key={t.slug}>
                  <td className={tdClass}>
                    <Link
                      to={`/templates/${t.slug}` as string}
                      className="font-mono text-sky-700 underline dark:text-sky-400"
                    >
                      {t.slug}
                    </Link>
                  </td>
                  <td className={tdClass}>{kindLabels[t.kind]}</td>
                  <td className={tdClass}>
                    <StatusBadge status={t.status} />
                  </td>
                  <td className={`${tdClass} font-mono`}>{t.version ?? '—'}</td>
                  <td className={tdClass}>{t.builtHere ? 'built' : 'not built'}</td>
                  <td className={tdClass}>{t.updatedAt ? <Time iso={t.updatedAt} /> : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {templates.hasNextPage ? (
          <div className="mt-3">
            <Button
              onClick={() => void templates.fetchNextPage()}
              disabled={templates.isFetchingNextPage}
            >
              Load more templates
            </Button>
          </div>
        ) : null}
      </Panel>
    </>
  );
}
