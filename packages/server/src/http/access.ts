import { RunToolsError } from '@runtools/sdk';
import { type ApiScope, apiScopes } from '@runtools/sdk/api';
import type { Context, MiddlewareHandler } from 'hono';
import type { Run } from '../store/runs.ts';
import type { Store } from '../store/store.ts';
import type { AppEnv, Principal } from './app-env.ts';

/**
 * What a caller may do: the scopes of its key (the bootstrap key holds all) and, for a key an
 * app embeds, the deployments it is restricted to.
 */

/** The scopes `principal` holds. */
export function scopesOf(principal: Principal): readonly ApiScope[] {
  return principal.kind === 'bootstrap' ? apiScopes : principal.apiKey.scopes;
}

/** The deployments (apiSlugs) `principal` is restricted to; null when it is not restricted. */
export function deploymentsOf(principal: Principal): readonly string[] | null {
  return principal.kind === 'bootstrap' ? null : principal.apiKey.deployments;
}

export function hasScope(principal: Principal, scope: ApiScope): boolean {
  return scopesOf(principal).includes(scope);
}

/** The 403 of a caller without any of `scopes`. */
export function insufficientScope(scopes: readonly ApiScope[]): RunToolsError {
  const needed = scopes.map((s) => `"${s}"`).join(' or ');
  return new RunToolsError(
    'insufficient_scope',
    `This API key lacks the ${needed} scope this request needs; use a key that has it (an admin creates one with POST /v1/api-keys or runtools keys create --scope ${scopes[0]}).`,
    { details: { requiredScopes: [...scopes] } },
  );
}

/**
 * Lets the request through when the caller holds one of `scopes`, else 403 `insufficient_scope`.
 * Routes get it from `scopedRoute`, which also names the scopes in the OpenAPI document.
 */
export function requireScope(...scopes: ApiScope[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get('principal');
    if (!scopes.some((s) => hasScope(principal, s))) throw insufficientScope(scopes);
    return next();
  };
}

/** Whether the caller may use the deployment served at `apiSlug`. */
export function mayUseDeployment(c: Context<AppEnv>, apiSlug: string): boolean {
  const allowed = deploymentsOf(c.get('principal'));
  return allowed === null || allowed.includes(apiSlug);
}

/**
 * The run `id` if the caller may see it; a run of a deployment outside the key's restriction is
 * answered like a missing one (`run_not_found`), so a restricted key learns nothing of it.
 */
export async function visibleRun(c: Context<AppEnv>, store: Store, id: string): Promise<Run> {
  const run = await store.runs.require(id);
  if (deploymentsOf(c.get('principal')) === null) return run;
  const deployment = await store.deployments.get(run.deploymentId);
  if (deployment !== undefined && mayUseDeployment(c, deployment.apiSlug)) return run;
  throw new RunToolsError('run_not_found', `Run ${id} does not exist.`, {
    details: { runId: id },
  });
}

/**
 * The deployment ids a restricted caller may see (null: all), for filtering lists. Deployments
 * named by the key that do not exist (yet) simply match nothing.
 */
export async function visibleDeploymentIds(
  c: Context<AppEnv>,
  store: Store,
): Promise<string[] | null> {
  const allowed = deploymentsOf(c.get('principal'));
  if (allowed === null) return null;
  const found = await Promise.all(allowed.map((slug) => store.deployments.getBySlug(slug)));
  return found.flatMap((d) => (d === undefined ? [] : [d.id]));
}
