import { createRootRoute, createRoute, createRouter, redirect } from '@tanstack/react-router';
import { Layout } from './layout.tsx';
import { AgentPage } from './pages/agent.tsx';
import { AgentsPage } from './pages/agents.tsx';
import { DeploymentsPage } from './pages/deployments.tsx';
import { KeysPage } from './pages/keys.tsx';
import { RunPage } from './pages/run.tsx';
import { RunsPage } from './pages/runs.tsx';
import { SandboxPage } from './pages/sandbox.tsx';
import { SandboxPortPage } from './pages/sandbox-port.tsx';
import { SandboxesPage } from './pages/sandboxes.tsx';
import { TemplatePage } from './pages/template.tsx';
import { TemplateBuilderPage } from './pages/template-builder.tsx';
import { TemplatesPage } from './pages/templates.tsx';
import { WebhookPage } from './pages/webhook.tsx';
import { WebhooksPage } from './pages/webhooks.tsx';

/**
 * Every page of the dashboard, by URL. Pages own their data (TanStack Query over the SDK client);
 * the URL holds what a reader would share (a run id, list filters).
 */
const root = createRootRoute({ component: Layout });

const index = createRoute({
  getParentRoute: () => root,
  path: '/',
  beforeLoad: () => {
    throw redirect({ href: '/deployments' });
  },
});
const page = (path: string, component: () => React.ReactNode) =>
  createRoute({ getParentRoute: () => root, path, component });

const routeTree = root.addChildren([
  index,
  page('/agents', AgentsPage),
  page('/agents/$slug', AgentPage),
  page('/deployments', DeploymentsPage),
  page('/runs', RunsPage),
  page('/runs/$runId', RunPage),
  page('/sandboxes', SandboxesPage),
  page('/sandboxes/$sandboxId', SandboxPage),
  page('/sandboxes/$sandboxId/ports/$port', SandboxPortPage),
  page('/templates', TemplatesPage),
  page('/templates/new', TemplateBuilderPage),
  page('/templates/$slug', TemplatePage),
  page('/webhooks', WebhooksPage),
  page('/webhooks/$webhookId', WebhookPage),
  page('/keys', KeysPage),
]);

export const router = createRouter({ routeTree, defaultPreload: false });

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router;
  }
}
