import { RunToolsError } from '@runtools/sdk';
import type { Kysely, Selectable } from 'kysely';
import { isForeignKeyViolation, isUniqueViolation } from '../db/constraint-errors.ts';
import type { Database } from '../db/database.ts';
import type { DeploymentsTable, Schema } from '../db/schema.ts';
import { newId, nowIso } from './ids.ts';
import { type Page, type PageRequest, pageLimit, toPage } from './pagination.ts';

/** A deployment: a runtime version plus a sandbox template, served at `/v1/run/{apiSlug}`. */
export interface Deployment {
  id: string;
  apiSlug: string;
  runtimeId: string;
  templateSlug: string;
  createdAt: string;
  updatedAt: string;
}

export interface DeploymentInput {
  apiSlug: string;
  runtimeId: string;
  templateSlug: string;
}

export class DeploymentRepository {
  readonly #db: Kysely<Schema>;

  constructor(database: Database) {
    this.#db = database.db;
  }

  /** Creates a deployment; `deployment_slug_taken` or `runtime_not_found` when it cannot. */
  async create(input: DeploymentInput): Promise<Deployment> {
    const now = nowIso();
    const row: Selectable<DeploymentsTable> = {
      id: newId('dep'),
      api_slug: input.apiSlug,
      runtime_id: input.runtimeId,
      template_slug: input.templateSlug,
      created_at: now,
      updated_at: now,
    };
    try {
      await this.#db.insertInto('deployments').values(row).execute();
    } catch (error) {
      throw constraintError(error, input);
    }
    return toDeployment(row);
  }

  async get(id: string): Promise<Deployment | undefined> {
    const row = await this.#db
      .selectFrom('deployments')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toDeployment(row);
  }

  /** The deployment served at `/v1/run/{apiSlug}`. */
  async getBySlug(apiSlug: string): Promise<Deployment | undefined> {
    const row = await this.#db
      .selectFrom('deployments')
      .selectAll()
      .where('api_slug', '=', apiSlug)
      .executeTakeFirst();
    return row === undefined ? undefined : toDeployment(row);
  }

  /** Deployments newest first; with `apiSlugs`, only those (a restricted key's view). */
  async list(
    request: PageRequest & { apiSlugs?: readonly string[] | null } = {},
  ): Promise<Page<Deployment>> {
    const limit = pageLimit(request);
    let query = this.#db
      .selectFrom('deployments')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (request.apiSlugs !== undefined && request.apiSlugs !== null) {
      if (request.apiSlugs.length === 0) return { items: [], nextCursor: null };
      query = query.where('api_slug', 'in', request.apiSlugs);
    }
    if (request.cursor !== undefined) query = query.where('id', '<', request.cursor);
    return toPage(await query.execute(), limit, toDeployment);
  }

  async update(id: string, patch: Partial<DeploymentInput>): Promise<Deployment> {
    let row: Selectable<DeploymentsTable> | undefined;
    try {
      row = await this.#db
        .updateTable('deployments')
        .set({
          ...(patch.apiSlug !== undefined ? { api_slug: patch.apiSlug } : {}),
          ...(patch.runtimeId !== undefined ? { runtime_id: patch.runtimeId } : {}),
          ...(patch.templateSlug !== undefined ? { template_slug: patch.templateSlug } : {}),
          updated_at: nowIso(),
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
    } catch (error) {
      throw constraintError(error, patch);
    }
    if (row === undefined) {
      throw new RunToolsError('deployment_not_found', `Deployment ${id} does not exist.`, {
        details: { deploymentId: id },
      });
    }
    return toDeployment(row);
  }

  /** Deletes a deployment (its runs stay, as history); false when there was none. */
  async delete(id: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('deployments').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}

function constraintError(error: unknown, input: Partial<DeploymentInput>): unknown {
  if (isUniqueViolation(error)) {
    return new RunToolsError(
      'deployment_slug_taken',
      `A deployment with api_slug '${input.apiSlug}' already exists.`,
      { cause: error, details: { apiSlug: input.apiSlug } },
    );
  }
  if (isForeignKeyViolation(error)) {
    return new RunToolsError('runtime_not_found', `Runtime ${input.runtimeId} does not exist.`, {
      cause: error,
      details: { runtimeId: input.runtimeId },
    });
  }
  return error;
}

function toDeployment(row: Selectable<DeploymentsTable>): Deployment {
  return {
    id: row.id,
    apiSlug: row.api_slug,
    runtimeId: row.runtime_id,
    templateSlug: row.template_slug,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
