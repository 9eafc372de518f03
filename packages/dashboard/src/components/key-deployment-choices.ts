import { useQuery } from '@tanstack/react-query';
import { useClient, useSession } from '../session.tsx';

/**
 * The deployments a key may be restricted to or a webhook may listen to (the first hundred), when
 * the session may list them (`deploy` or `run`); otherwise no data, and the forms do without.
 */
export function useDeploymentChoices() {
  const rt = useClient();
  const { can } = useSession();
  return useQuery({
    queryKey: ['deployments', 'choices'],
    queryFn: async () => (await rt.deployments.list({ limit: 100 })).data,
    enabled: can('deploy') || can('run'),
  });
}

/** A deployment's apiSlug where it is known, else its id. */
export function useDeploymentName(): (id: string) => string {
  const choices = useDeploymentChoices();
  return (id) => choices.data?.find((d) => d.id === id)?.apiSlug ?? id;
}
