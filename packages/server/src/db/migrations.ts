import { RunToolsError } from '@runtools/sdk';
import type { Kysely } from 'kysely';
import { type Migration, Migrator } from 'kysely/migration';

/**
 * Versioned migrations, applied in name order at open, shared by SQLite and PostgreSQL: they use
 * only Kysely's schema builder with portable column types (text, integer). Never edit a published
 * migration; add the next number.
 */
export const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('runtimes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('slug', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('runtimes_slug_version_unique', ['slug', 'version'])
        .execute();

      await db.schema
        .createTable('deployments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('api_slug', 'text', (c) => c.notNull().unique())
        .addColumn('runtime_id', 'text', (c) => c.notNull().references('runtimes.id'))
        .addColumn('template_slug', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();

      // No foreign key to deployments: a run is a historical record that outlives its deployment.
      await db.schema
        .createTable('runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('deployment_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('input', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('output', 'text')
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('checkpoint', 'text')
        .addColumn('last_seq', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('claimed_by', 'text')
        .addColumn('claimed_at', 'text')
        .addColumn('lease_expires_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('finished_at', 'text')
        .execute();
      await db.schema
        .createIndex('runs_status_created_idx')
        .on('runs')
        .columns(['status', 'created_at', 'id'])
        .execute();
      await db.schema
        .createIndex('runs_deployment_idx')
        .on('runs')
        .columns(['deployment_id', 'id'])
        .execute();

      await db.schema
        .createTable('run_events')
        .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('ts', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('run_events_pk', ['run_id', 'seq'])
        .execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('prefix', 'text', (c) => c.notNull().unique())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();

      await db.schema
        .createTable('webhooks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('deployment_id', 'text', (c) =>
          c.references('deployments.id').onDelete('cascade'),
        )
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('webhook_id', 'text', (c) =>
          c.notNull().references('webhooks.id').onDelete('cascade'),
        )
        .addColumn('run_id', 'text')
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_status_code', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('next_attempt_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('webhook_deliveries_due_idx')
        .on('webhook_deliveries')
        .columns(['status', 'next_attempt_at'])
        .execute();

      await db.schema
        .createTable('webhook_delivery_attempts')
        .addColumn('delivery_id', 'text', (c) =>
          c.notNull().references('webhook_deliveries.id').onDelete('cascade'),
        )
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('error', 'text')
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('ts', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('webhook_delivery_attempts_pk', ['delivery_id', 'attempt'])
        .execute();
    },
  },
  /**
   * A pause or cancel asked of a run that another server process executes: that worker polls for
   * requests on the runs it holds.
   */
  '0003_run_control_requests': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('runs').addColumn('control_request', 'text').execute();
    },
  },
  /**
   * Template definitions and their builds: the built root filesystems live on each server's disk,
   * so the definition (with its Dockerfile context) is kept here for any server to (re)build, and
   * every build's log is kept for replay.
   */
  '0004_templates': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('templates')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('slug', 'text', (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('definition_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('template_builds')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('template_id', 'text', (c) =>
          c.notNull().references('templates.id').onDelete('cascade'),
        )
        .addColumn('slug', 'text', (c) => c.notNull())
        .addColumn('definition_hash', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('version', 'text')
        .addColumn('result', 'text')
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('server', 'text')
        .addColumn('last_seq', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('heartbeat_at', 'text')
        .addColumn('finished_at', 'text')
        .execute();
      await db.schema
        .createIndex('template_builds_template_idx')
        .on('template_builds')
        .columns(['template_id', 'id'])
        .execute();

      await db.schema
        .createTable('template_build_logs')
        .addColumn('build_id', 'text', (c) =>
          c.notNull().references('template_builds.id').onDelete('cascade'),
        )
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('line', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('template_build_logs_pk', ['build_id', 'seq'])
        .execute();
    },
  },
  /** A webhook given with `POST /v1/run/{slug}` receives the events of that run only. */
  '0005_run_webhooks': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('webhooks').addColumn('run_id', 'text').execute();
      await db.schema.createIndex('webhooks_run_idx').on('webhooks').column('run_id').execute();
    },
  },
  /**
   * Keys carry scopes (a JSON array) and an optional deployment restriction (a JSON array of
   * apiSlugs). Keys made before scopes existed could do everything: they keep all four.
   */
  '0006_api_key_scopes': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('api_keys')
        .addColumn('scopes', 'text', (c) =>
          c.notNull().defaultTo('["admin","deploy","run","sandboxes"]'),
        )
        .execute();
      await db.schema.alterTable('api_keys').addColumn('deployments', 'text').execute();
    },
  },
  /**
   * Secrets are encrypted at rest (webhook signing secrets, the model keys of runtimes). The key
   * is not the migrator's to know, so this only adds the table that records which key they are
   * encrypted with; the first open with a key encrypts what older servers stored in plaintext
   * (`checkSecretKey`, in one transaction with recording the key).
   */
  '0007_encrypted_secrets': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('secret_key_check')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('check_value', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  /**
   * Browser sessions (the dashboard): a cookie's SHA-256, the key it stands for (`api_key_id`
   * null for the bootstrap key), a CSRF token, and when it ends.
   */
  '0008_sessions': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('api_key_id', 'text')
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('sessions_api_key_idx')
        .on('sessions')
        .column('api_key_id')
        .execute();
    },
  },
  /**
   * A run's progress as counters, bumped with each append of its events: model calls finished
   * (`step` events) and the tokens they used, so a list of runs shows them without reading logs.
   * Runs stored before keep zeros (their output, once completed, still has the totals).
   */
  '0009_run_usage': {
    async up(db: Kysely<unknown>) {
      for (const column of ['steps', 'input_tokens', 'output_tokens', 'total_tokens']) {
        await db.schema
          .alterTable('runs')
          .addColumn(column, 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      }
    },
  },
  /**
   * Code bundles of runtimes with custom tools, by the SHA-256 of their bytes: in the database,
   * so every server of a PostgreSQL setup can run any runtime's tools. The code is JavaScript
   * text (UTF-8, no NUL), which both dialects store as `text`.
   */
  '0010_bundles': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('bundles')
        .addColumn('sha256', 'text', (c) => c.primaryKey())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  /**
   * Approvals of tool calls: a waiting run's request (and, once answered, the decision) as JSON,
   * its expiry (the sweep's index), and the sandbox kept paused while the run waits or is paused.
   */
  '0011_run_approvals': {
    async up(db: Kysely<unknown>) {
      for (const column of ['sandbox_id', 'approval', 'approval_expires_at']) {
        await db.schema.alterTable('runs').addColumn(column, 'text').execute();
      }
      await db.schema
        .createIndex('runs_approval_expiry_idx')
        .on('runs')
        .columns(['status', 'approval_expires_at'])
        .execute();
    },
  },
  /**
   * The secret store: integration credentials by name, server-wide (scope '') or a deployment's
   * own (scope = its id), each value sealed with the server's key.
   */
  '0012_secrets': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('secrets')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('secrets_pkey', ['name', 'scope'])
        .execute();
    },
  },
  /** Accounts connected to integrations by OAuth consent: which, and when (the tokens are secrets). */
  '0013_integration_connections': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('integration_connections')
        .addColumn('integration', 'text', (c) => c.primaryKey())
        .addColumn('account', 'text', (c) => c.notNull())
        .addColumn('connected_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

/**
 * Applies every pending migration. Safe to call from several processes at once: Kysely's migrator
 * takes a lock (a row lock on PostgreSQL, the single writer on SQLite) while it runs.
 */
export async function migrateToLatest(db: Kysely<unknown>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'runtools_migrations',
    migrationLockTableName: 'runtools_migration_lock',
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error');
    throw new RunToolsError(
      'database_migration_failed',
      `Database migration ${failed?.migrationName ?? '(unknown)'} failed: ${String(error)}`,
      { cause: error, details: { migration: failed?.migrationName } },
    );
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
