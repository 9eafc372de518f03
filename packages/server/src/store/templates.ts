import { createHash } from 'node:crypto';
import { RunToolsError } from '@runtools/sdk';
import type { TemplateBuildStatus } from '@runtools/sdk/api';
import type { Kysely, Selectable } from 'kysely';
import { isUniqueViolation } from '../db/constraint-errors.ts';
import type { Database } from '../db/database.ts';
import type { Schema, TemplateBuildsTable, TemplatesTable } from '../db/schema.ts';
import { newId, nowIso } from './ids.ts';
import { type Page, pageLimit } from './pagination.ts';

/** A file of a Dockerfile build context, as stored: its bytes in base64 and its mode. */
export interface StoredContextFile {
  base64: string;
  mode: number;
}

/**
 * What a template is built from, validated and normalised by the API layer: a spec (with its
 * defaults applied), or a Dockerfile with its build context as a map of relative paths to files.
 */
export type StoredTemplateDefinition =
  | { kind: 'spec'; spec: Record<string, unknown> }
  | { kind: 'dockerfile'; dockerfile: string; files: Record<string, StoredContextFile> };

export interface Template {
  id: string;
  slug: string;
  kind: 'spec' | 'dockerfile';
  definition: StoredTemplateDefinition;
  /** Equal hashes, equal definitions: what makes a re-POST of the same definition a no-op. */
  definitionHash: string;
  createdAt: string;
  updatedAt: string;
}

export type { TemplateBuildStatus };

const terminalBuildStatuses: readonly string[] = [
  'ready',
  'failed',
  'cancelled',
] satisfies TemplateBuildStatus[];

export function isTerminalBuildStatus(status: string): boolean {
  return terminalBuildStatuses.includes(status);
}

/** What a finished build produced, from the engine's TemplateInfo. */
export interface TemplateBuildResult {
  sizeBytes: number;
  buildMs: number;
  /** Runtimes and notable packages found in the template (`node`, `python`, …). */
  versions: Record<string, string>;
}

/** One build of one definition of a template, on one server. */
export interface TemplateBuild {
  id: string;
  templateId: string;
  slug: string;
  definitionHash: string;
  status: TemplateBuildStatus;
  version: string | null;
  result: TemplateBuildResult | null;
  error: { code: string; message: string } | null;
  server: string | null;
  /** Seq of the last log line (0: none yet). */
  lastSeq: number;
  createdAt: string;
  startedAt: string | null;
  heartbeatAt: string | null;
  finishedAt: string | null;
}

export interface TemplateLogLine {
  seq: number;
  line: string;
}

/** A build whose server stopped refreshing its heartbeat this long ago is considered dead. */
export const buildHeartbeatTimeoutMs = 60_000;

/** Hash of a JSON value with its object keys sorted, so key order never changes it. */
export function definitionHash(definition: StoredTemplateDefinition): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
      );
    }
    return value;
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(definition)))
    .digest('hex');
}

/**
 * Template definitions, their builds and the builds' logs. The built root filesystems are on each
 * server's disk (the sandbox engine's TemplateStore); what is here lets any server build them.
 */
export class TemplateRepository {
  readonly #db: Kysely<Schema>;

  constructor(database: Database) {
    this.#db = database.db;
  }

  /**
   * Stores `definition` under `slug`: creates the template, replaces a different definition, or
   * leaves an equal one alone (`changed: false`).
   */
  async put(
    slug: string,
    definition: StoredTemplateDefinition,
  ): Promise<{ template: Template; created: boolean; changed: boolean }> {
    const hash = definitionHash(definition);
    for (let attempt = 0; ; attempt++) {
      const existing = await this.get(slug);
      const now = nowIso();
      if (existing === undefined) {
        const row: Selectable<TemplatesTable> = {
          id: newId('tpl'),
          slug,
          kind: definition.kind,
          definition: JSON.stringify(definition),
          definition_hash: hash,
          created_at: now,
          updated_at: now,
        };
        try {
          await this.#db.insertInto('templates').values(row).execute();
          return { template: toTemplate(row), created: true, changed: true };
        } catch (error) {
          // A concurrent create of the same slug won: compare with what it stored.
          if (!isUniqueViolation(error) || attempt >= 3) throw error;
          continue;
        }
      }
      if (existing.definitionHash === hash) {
        return { template: existing, created: false, changed: false };
      }
      const row = await this.#db
        .updateTable('templates')
        .set({
          kind: definition.kind,
          definition: JSON.stringify(definition),
          definition_hash: hash,
          updated_at: now,
        })
        .where('id', '=', existing.id)
        .returningAll()
        .executeTakeFirst();
      if (row !== undefined) return { template: toTemplate(row), created: false, changed: true };
      if (attempt >= 3) throw notFound(slug);
    }
  }

  async get(slug: string): Promise<Template | undefined> {
    const row = await this.#db
      .selectFrom('templates')
      .selectAll()
      .where('slug', '=', slug)
      .executeTakeFirst();
    return row === undefined ? undefined : toTemplate(row);
  }

  async require(slug: string): Promise<Template> {
    const template = await this.get(slug);
    if (template === undefined) throw notFound(slug);
    return template;
  }

  /** Templates in slug order; the cursor is the last slug of the previous page. */
  async list(request: { limit?: number; cursor?: string } = {}): Promise<Page<Template>> {
    const limit = pageLimit(request);
    let query = this.#db
      .selectFrom('templates')
      .selectAll()
      .orderBy('slug')
      .limit(limit + 1);
    if (request.cursor !== undefined) query = query.where('slug', '>', request.cursor);
    const rows = await query.execute();
    const items = rows.slice(0, limit);
    return {
      items: items.map(toTemplate),
      nextCursor: rows.length > limit ? (items.at(-1)?.slug ?? null) : null,
    };
  }

  /** Deletes a template with its builds and their logs; false when there was none. */
  async delete(slug: string): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('templates')
      .where('slug', '=', slug)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Ids of (at most `limit`) deployments that run in the template `slug`. */
  async deploymentsUsing(slug: string, limit = 10): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('deployments')
      .select('id')
      .where('template_slug', '=', slug)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  /** Records a new, queued build of the template's current definition. */
  async createBuild(template: Template, server: string | null): Promise<TemplateBuild> {
    const now = nowIso();
    const row: Selectable<TemplateBuildsTable> = {
      id: newId('tbd'),
      template_id: template.id,
      slug: template.slug,
      definition_hash: template.definitionHash,
      status: 'queued',
      version: null,
      result: null,
      error_code: null,
      error_message: null,
      server,
      last_seq: 0,
      created_at: now,
      started_at: null,
      heartbeat_at: now,
      finished_at: null,
    };
    await this.#db.insertInto('template_builds').values(row).execute();
    return toBuild(row);
  }

  async getBuild(id: string): Promise<TemplateBuild | undefined> {
    const row = await this.#db
      .selectFrom('template_builds')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toBuild(row);
  }

  /** Builds of a template, newest first. */
  async listBuilds(
    templateId: string,
    request: { limit?: number; cursor?: string } = {},
  ): Promise<Page<TemplateBuild>> {
    const limit = pageLimit(request);
    let query = this.#db
      .selectFrom('template_builds')
      .selectAll()
      .where('template_id', '=', templateId)
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (request.cursor !== undefined) query = query.where('id', '<', request.cursor);
    const rows = await query.execute();
    const items = rows.slice(0, limit);
    return {
      items: items.map(toBuild),
      nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null,
    };
  }

  /** The newest build of a template, of one definition when `definitionHash` is given. */
  async latestBuild(templateId: string, hash?: string): Promise<TemplateBuild | undefined> {
    let query = this.#db
      .selectFrom('template_builds')
      .selectAll()
      .where('template_id', '=', templateId)
      .orderBy('id', 'desc')
      .limit(1);
    if (hash !== undefined) query = query.where('definition_hash', '=', hash);
    const row = await query.executeTakeFirst();
    return row === undefined ? undefined : toBuild(row);
  }

  /** The newest ready build of one definition of a template. */
  async latestReadyBuild(templateId: string, hash: string): Promise<TemplateBuild | undefined> {
    const row = await this.#db
      .selectFrom('template_builds')
      .selectAll()
      .where('template_id', '=', templateId)
      .where('definition_hash', '=', hash)
      .where('status', '=', 'ready')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row === undefined ? undefined : toBuild(row);
  }

  /** queued → building on `server`; undefined when the build is no longer queued. */
  async startBuild(id: string, server: string | null): Promise<TemplateBuild | undefined> {
    const now = nowIso();
    const row = await this.#db
      .updateTable('template_builds')
      .set({ status: 'building', server, started_at: now, heartbeat_at: now })
      .where('id', '=', id)
      .where('status', '=', 'queued')
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : toBuild(row);
  }

  /** Refreshes a running build's heartbeat; false once it has ended. */
  async heartbeat(id: string): Promise<boolean> {
    const result = await this.#db
      .updateTable('template_builds')
      .set({ heartbeat_at: nowIso() })
      .where('id', '=', id)
      .where('status', 'in', ['queued', 'building'])
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /**
   * Ends a queued or building build. Undefined when it had already ended (a cancel that raced
   * the end of the build, or a build marked abandoned): the first end wins.
   */
  async finishBuild(
    id: string,
    outcome:
      | { status: 'ready'; version: string; result: TemplateBuildResult }
      | { status: 'failed' | 'cancelled'; error: { code: string; message: string } },
  ): Promise<TemplateBuild | undefined> {
    const now = nowIso();
    const row = await this.#db
      .updateTable('template_builds')
      .set(
        outcome.status === 'ready'
          ? {
              status: 'ready',
              version: outcome.version,
              result: JSON.stringify(outcome.result),
              finished_at: now,
              heartbeat_at: now,
            }
          : {
              status: outcome.status,
              error_code: outcome.error.code,
              error_message: outcome.error.message,
              finished_at: now,
              heartbeat_at: now,
            },
      )
      .where('id', '=', id)
      .where('status', 'in', ['queued', 'building'])
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : toBuild(row);
  }

  /**
   * Marks failed (`build_abandoned`) the builds still queued or building whose heartbeat is older
   * than `timeoutMs`: their server died or was killed mid-build. Returns how many.
   */
  async failAbandonedBuilds(timeoutMs = buildHeartbeatTimeoutMs): Promise<number> {
    const now = nowIso();
    const result = await this.#db
      .updateTable('template_builds')
      .set({
        status: 'failed',
        error_code: 'build_abandoned',
        error_message: 'The server building this template stopped before the build ended.',
        finished_at: now,
      })
      .where('status', 'in', ['queued', 'building'])
      .where('heartbeat_at', '<', nowIso(-timeoutMs))
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /**
   * Appends log lines to a build; seqs come from the build row's `last_seq` counter bumped in the
   * same transaction, so they are gapless (as for run events).
   */
  async appendLogs(buildId: string, lines: readonly string[]): Promise<TemplateLogLine[]> {
    if (lines.length === 0) return [];
    return this.#db.transaction().execute(async (tx) => {
      const counter = await tx
        .updateTable('template_builds')
        .set((eb) => ({ last_seq: eb('last_seq', '+', lines.length) }))
        .where('id', '=', buildId)
        .returning('last_seq')
        .executeTakeFirst();
      if (counter === undefined) {
        throw new RunToolsError('template_build_not_found', `Build ${buildId} does not exist.`, {
          details: { buildId },
        });
      }
      const first = Number(counter.last_seq) - lines.length + 1;
      // PostgreSQL's text refuses NUL, and a build's output may contain anything.
      const stored = lines.map((line, i) => ({ seq: first + i, line: line.replaceAll('\0', '') }));
      await tx
        .insertInto('template_build_logs')
        .values(stored.map((l) => ({ build_id: buildId, seq: l.seq, line: l.line })))
        .execute();
      return stored;
    });
  }

  /** Log lines with `seq > after`, oldest first, at most `limit`. */
  async logsSince(buildId: string, after = 0, limit = 1000): Promise<TemplateLogLine[]> {
    const rows = await this.#db
      .selectFrom('template_build_logs')
      .select(['seq', 'line'])
      .where('build_id', '=', buildId)
      .where('seq', '>', after)
      .orderBy('seq')
      .limit(Math.max(1, Math.trunc(limit)))
      .execute();
    return rows.map((r) => ({ seq: Number(r.seq), line: r.line }));
  }
}

function notFound(slug: string): RunToolsError {
  return new RunToolsError('template_not_found', `Template "${slug}" does not exist.`, {
    details: { template: slug },
  });
}

function toTemplate(row: Selectable<TemplatesTable>): Template {
  return {
    id: row.id,
    slug: row.slug,
    kind: row.kind as Template['kind'],
    definition: JSON.parse(row.definition) as StoredTemplateDefinition,
    definitionHash: row.definition_hash,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toBuild(row: Selectable<TemplateBuildsTable>): TemplateBuild {
  return {
    id: row.id,
    templateId: row.template_id,
    slug: row.slug,
    definitionHash: row.definition_hash,
    status: row.status as TemplateBuildStatus,
    version: row.version,
    result: row.result === null ? null : (JSON.parse(row.result) as TemplateBuildResult),
    error:
      row.error_code === null
        ? null
        : { code: row.error_code, message: row.error_message ?? row.error_code },
    server: row.server,
    lastSeq: Number(row.last_seq),
    createdAt: row.created_at,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    finishedAt: row.finished_at,
  };
}
