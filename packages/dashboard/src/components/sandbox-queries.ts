import type { ListeningPort, Sandbox, SandboxInput } from '@runtools/sdk/api';
import {
  type QueryClient,
  useMutation,
  useMutationState,
  useQuery,
  useQueryClient,
} from '@tanstack/react-query';
import { useClient } from '../session.tsx';

/**
 * The sandbox pages' server state over the SDK client. Sandboxes change without the page (a
 * timeout pauses one, the CLI deletes another), so lists and pages poll every few seconds; an
 * action's answer goes straight into the cache, so the page shows the new state at once.
 */

const pollMs = 4000;

export const sandboxKeys = {
  all: ['sandboxes'] as const,
  list: ['sandboxes', 'list'] as const,
  one: (id: string) => ['sandboxes', 'one', id] as const,
  ports: (id: string) => ['sandboxes', 'ports', id] as const,
};

/** Every running and paused sandbox, newest first (the API pages them oldest first). */
export function useSandboxes() {
  const client = useClient();
  return useQuery({
    queryKey: sandboxKeys.list,
    queryFn: async () => {
      const all: Sandbox[] = [];
      let cursor: string | undefined;
      // A few pages at most: sandboxes are held in the memory of one host.
      for (let page = 0; page < 10; page += 1) {
        const { data, nextCursor } = await client.sandboxes.list({ limit: 100, cursor });
        all.push(...data);
        if (nextCursor === null) break;
        cursor = nextCursor;
      }
      return all.reverse();
    },
    refetchInterval: pollMs,
  });
}

export function useSandbox(id: string) {
  const client = useClient();
  return useQuery({
    queryKey: sandboxKeys.one(id),
    queryFn: () => client.sandboxes.get(id),
    refetchInterval: pollMs,
  });
}

/** What listens inside a running sandbox (nothing is asked of a paused one: it would 409). */
export function useSandboxPorts(sandbox: Pick<Sandbox, 'id' | 'state'>) {
  const client = useClient();
  return useQuery<ListeningPort[]>({
    queryKey: sandboxKeys.ports(sandbox.id),
    queryFn: () => client.sandboxes.ports.list(sandbox.id),
    enabled: sandbox.state === 'running',
    refetchInterval: pollMs,
    retry: false,
  });
}

export type SandboxAction = 'pause' | 'resume' | 'delete';

/** The sandbox as the API answered an action: into the page's cache and the list's. */
function remember(queries: QueryClient, sandbox: Sandbox): void {
  queries.setQueryData(sandboxKeys.one(sandbox.id), sandbox);
  queries.setQueryData<Sandbox[]>(sandboxKeys.list, (list) =>
    list?.map((s) => (s.id === sandbox.id ? sandbox : s)),
  );
}

function forget(queries: QueryClient, id: string): void {
  queries.setQueryData<Sandbox[]>(sandboxKeys.list, (list) => list?.filter((s) => s.id !== id));
  queries.removeQueries({ queryKey: sandboxKeys.one(id) });
  queries.removeQueries({ queryKey: sandboxKeys.ports(id) });
}

const actionKey = (id: string) => ['sandbox-action', id] as const;

/** Pause, resume or delete sandbox `id`; the answer updates every page showing it. */
export function useSandboxAction(id: string, onDeleted?: () => void) {
  const client = useClient();
  const queries = useQueryClient();
  return useMutation({
    mutationKey: actionKey(id),
    mutationFn: async (action: SandboxAction): Promise<Sandbox | null> => {
      if (action === 'pause') return client.sandboxes.pause(id);
      if (action === 'resume') return client.sandboxes.resume(id);
      await client.sandboxes.delete(id);
      return null;
    },
    onSuccess: (sandbox) => {
      if (sandbox === null) {
        forget(queries, id);
        onDeleted?.();
      } else {
        remember(queries, sandbox);
        void queries.invalidateQueries({ queryKey: sandboxKeys.ports(id) });
      }
    },
    onSettled: () => queries.invalidateQueries({ queryKey: sandboxKeys.list }),
  });
}

/** The action under way on sandbox `id` (from any page), if one is. */
export function usePendingAction(id: string): SandboxAction | undefined {
  const pending = useMutationState({
    filters: { mutationKey: actionKey(id), status: 'pending' },
    select: (mutation) => mutation.state.variables as SandboxAction,
  });
  return pending.at(-1);
}

/** Creates a sandbox and puts it at the top of the list. */
export function useCreateSandbox() {
  const client = useClient();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (input: SandboxInput) => client.sandboxes.create(input),
    onSuccess: (sandbox) => {
      queries.setQueryData<Sandbox[]>(sandboxKeys.list, (list) => [
        sandbox,
        ...(list ?? []).filter((s) => s.id !== sandbox.id),
      ]);
      queries.setQueryData(sandboxKeys.one(sandbox.id), sandbox);
    },
    onSettled: () => queries.invalidateQueries({ queryKey: sandboxKeys.list }),
  });
}
