import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useTestEngine, waitFor } from '@runtools/sandbox/testing';
import { type Database, openDatabase } from '../../db/database.ts';
import { startTestServer, type TestServer } from '../../testing/test-server.ts';

interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

describe('POST /v1/sandboxes/{id}/pause when CRIU cannot checkpoint', () => {
  const t = useTestEngine('pause-failure-api');
  let server: TestServer;
  let database: Database;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'runtools-pause-api-'));
    database = await openDatabase({ kind: 'sqlite', dataDir: dir });
    server = await startTestServer(database, { engine: t.engine });
  });

  after(async () => {
    await server?.[Symbol.asyncDispose]();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 409 checkpoint_failed naming the process, and the sandbox keeps running', async () => {
    const created = await server.request('POST', '/v1/sandboxes', {
      body: { template: 'debian-13' },
    });
    assert.equal(created.status, 201);
    const { id } = created.body as { id: string };
    // A deleted file of 300 MiB held open: above the 256 MiB CRIU copies into a checkpoint.
    const started = await server.request('POST', `/v1/sandboxes/${id}/exec`, {
      body: {
        command: [
          'bash',
          '-c',
          'fallocate -l 300M /tmp/big && exec 3</tmp/big && rm /tmp/big && touch /tmp/holding && exec sleep 600',
        ],
        background: true,
      },
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const { pid } = started.body as { pid: number };
    await waitFor(async () => {
      const r = await server.request('POST', `/v1/sandboxes/${id}/exec`, {
        body: { command: ['test', '-e', '/tmp/holding'] },
      });
      return (r.body as { exitCode?: number }).exitCode === 0;
    });

    const paused = await server.request('POST', `/v1/sandboxes/${id}/pause`);
    assert.equal(paused.status, 409);
    const { error } = paused.body as ErrorBody;
    assert.equal(error.code, 'checkpoint_failed');
    assert.match(
      error.message,
      new RegExp(
        `process ${pid} \\((bash|sleep)\\) keeps a deleted file open \\(/tmp/big, 300 MiB\\)`,
      ),
    );
    assert.equal(error.details?.pid, pid);

    const after = await server.request('GET', `/v1/sandboxes/${id}`);
    assert.equal((after.body as { state: string }).state, 'running');
    const echo = await server.request('POST', `/v1/sandboxes/${id}/exec`, {
      body: { command: ['echo', 'still here'] },
    });
    assert.equal((echo.body as { stdout: string }).stdout, 'still here\n');
  });
});
