import {
  createRootRoute,
  createRoute,
  createRouter,
  lazyRouteComponent,
  type RouteComponent,
  redirect,
} from '@tanstack/react-router';
import { runFiltersFrom } from './components/run-filters.tsx';
import { Layout } from './layout.tsx';
import { RunsPage } from './pages/runs.tsx';
import { deploymentsQuery, queryClient, runQuery, runsQuery } from './queries.ts';
import { readClient } from './session.tsx';

/**
 * Every page of the dashboard, by URL. Pages own their data (TanStack Query over the SDK client);
 * the URL holds what a reader would share (a run id, list filters). The runs list is in the first
 * script; every other page loads its code when opened. The loaders of the pages a reader lands on
 * most (deployments, runs, a run) start the first screen's requests while the app checks the
 * session and while the page's code loads.
 */
const root = createRootRoute({ component: Layout });

const index = createRoute({
  getParentRoute: () => root,
  path: '/',
  beforeLoad: () => {
    throw redirect({ href: '/deployments' });
  },
});
const page = (
  path: string,
  component: RouteComponent,
  loader?: (params: Record<string, string>, search: Record<string, unknown>) => unknown,
) =>
  createRoute({
    getParentRoute: () => root,
    path,
    component,
    // Started, not awaited: the page renders at once and shows its own loading state.
    loader:
      loader &&
      (({ params, location }) => void loader(params, location.search as Record<string, unknown>)),
  });
const later = <Name extends string>(
  load: () => Promise<Record<Name, () => React.ReactNode>>,
  name: Name,
): RouteComponent => lazyRouteComponent(load, name);

const routeTree = root.addChildren([
  index,
  page(
    '/agents',
    later(() => import('./pages/agents.tsx'), 'AgentsPage'),
  ),
  page(
    '/agents/$slug',
    later(() => import('./pages/agent.tsx'), 'AgentPage'),
  ),
  page(
    '/deployments',
    later(() => import('./pages/deployments.tsx'), 'DeploymentsPage'),
    () => queryClient.prefetchQuery(deploymentsQuery(readClient)),
  ),
  page('/runs', RunsPage, (_, search) =>
    Promise.all([
      queryClient.prefetchQuery(deploymentsQuery(readClient)),
      queryClient.prefetchQuery(
        runsQuery(
          readClient,
          runFiltersFrom(search),
          search.cursor === undefined ? undefined : String(search.cursor),
        ),
      ),
    ]),
  ),
  page(
    '/runs/$runId',
    later(() => import('./pages/run.tsx'), 'RunPage'),
    ({ runId }) => queryClient.prefetchQuery(runQuery(readClient, runId ?? '')),
  ),
  page(
    '/sandboxes',
    later(() => import('./pages/sandboxes.tsx'), 'SandboxesPage'),
  ),
  page(
    '/sandboxes/$sandboxId',
    later(() => import('./pages/sandbox.tsx'), 'SandboxPage'),
  ),
  page(
    '/sandboxes/$sandboxId/ports/$port',
    later(() => import('./pages/sandbox-port.tsx'), 'SandboxPortPage'),
  ),
  page(
    '/templates',
    later(() => import('./pages/templates.tsx'), 'TemplatesPage'),
  ),
  page(
    '/templates/new',
    later(() => import('./pages/template-builder.tsx'), 'TemplateBuilderPage'),
  ),
  page(
    '/templates/$slug',
    later(() => import('./pages/template.tsx'), 'TemplatePage'),
  ),
  page(
    '/webhooks',
    later(() => import('./pages/webhooks.tsx'), 'WebhooksPage'),
  ),
  page(
    '/webhooks/$webhookId',
    later(() => import('./pages/webhook.tsx'), 'WebhookPage'),
  ),
  page(
    '/keys',
    later(() => import('./pages/keys.tsx'), 'KeysPage'),
  ),
  page(
    '/tools',
    later(() => import('./pages/tools.tsx'), 'ToolsPage'),
  ),
]);

export const router = createRouter({ routeTree, defaultPreload: false });

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router;
  }
}
