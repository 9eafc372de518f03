import { useQuery } from '@tanstack/react-query';
import { DeploymentCard } from '../components/deployment-card.tsx';
import { EmptyState, ErrorNotice, Loading, PageHeader } from '../components/ui.tsx';
import { deploymentsQuery } from '../queries.ts';
import { useClient } from '../session.tsx';

/** Every deployment (at most 100: the API's page) with its agent, endpoints and "try it" box. */
export function DeploymentsPage() {
  const client = useClient();
  const deployments = useQuery(deploymentsQuery(client));
  return (
    <>
      <PageHeader title="Deployments" />
      {deployments.isPending ? <Loading what="deployments" /> : null}
      {deployments.isError ? <ErrorNotice error={deployments.error} /> : null}
      {deployments.data?.data.length === 0 ? (
        <EmptyState title="No deployments yet">
          <p>
            A deployment serves an agent at <code>POST /v1/run/SLUG</code>. In a project folder:{' '}
            <code>runtools init</code> writes an agent, <code>runtools dev</code> runs it here while
            you edit it, and <code>runtools deploy</code> deploys it to this server.
          </p>
        </EmptyState>
      ) : null}
      <div className="space-y-6">
        {deployments.data?.data.map((deployment) => (
          <DeploymentCard key={deployment.id} deployment={deployment} />
        ))}
      </div>
    </>
  );
}
