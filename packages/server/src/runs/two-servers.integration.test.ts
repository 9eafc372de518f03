import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RecordedRequest, TestModelServer } from '@runtools/agent/testing';
import { findRunc, SandboxEngine } from '@runtools/sandbox';
import { waitFor as waitUntil } from '@runtools/sandbox/testing';
import type { RunEvent } from '@runtools/sdk';
import pg from 'pg';
import WebSocket from 'ws';
import { defaultTemplatesDir } from '../testing/control-plane.ts';
import { type ServerProcess, startServerProcess } from '../testing/server-process.ts';
import {
  findPostgresBin,
  type PostgresCluster,
  startPostgres,
  testSecretKey,
} from '../testing/test-databases.ts';
import { requestJson, testBootstrapKey } from '../testing/test-server.ts';

interface RunJson {
  id: string;
  status: string;
  attempts: number;
  worker: string | null;
  output: { text: string; steps: number } | null;
}

const waitFor = <T>(fn: () => Promise<T | undefined | false>, ms = 60_000) =>
  waitUntil(fn, { timeoutMs: ms, intervalMs: 50 });

/** Every event of a finished run, read as Server-Sent Events from `baseUrl`. */
async function eventsOf(baseUrl: string, runId: string): Promise<RunEvent[]> {
  const response = await fetch(`${baseUrl}/v1/runs/${runId}/events`, {
    headers: { authorization: `Bearer ${testBootstrapKey}` },
  });
  assert.equal(response.status, 200);
  const text = await response.text();
  return [...text.matchAll(/^data: ?(.*)$/gm)].map((m) => JSON.parse(m[1] as string) as RunEvent);
}

const kind = (e: RunEvent) => (e.type === 'status' ? `status:${e.status}` : e.type);

/**
 * Model answers held back until the test opens them, by run input: a run that waits for the model
 * cannot get ahead of what the test checks meanwhile, however slow or fast the machine is.
 */
const held = new Map<string, { opened: Promise<void>; open: () => void }>();
function hold(input: string): () => void {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  held.set(input, { opened, open });
  return open;
}

/** The scripted model: what to do follows from the run's input and the tool results so far. */
async function respond(request: RecordedRequest) {
  const input = request.messages.find((m) => m.role === 'user')?.text ?? '';
  const results = request.messages.filter((m) => m.role === 'tool').length;
  const bash = (command: string) => ({ toolCalls: [{ name: 'bash', input: { command } }] });
  if (input.startsWith('cancel-me')) return results === 0 ? bash('sleep 60') : { text: 'no' };
  if (input.startsWith('pause-me')) {
    if (results === 0) return bash('sleep 1.5; echo one');
    if (results === 1) return bash('echo two');
    // The last answer waits until the run was paused: the run cannot finish first.
    await held.get(input)?.opened;
    return { text: 'paused on one server, resumed on the other' };
  }
  if (results === 0) return bash(`sleep 0.2; echo ran ${input}`);
  await held.get(input)?.opened;
  return { text: `done ${input}` };
}

const postgresBin = findPostgresBin();

describe('two server processes on one PostgreSQL (main.ts children, real sandboxes)', {
  skip: postgresBin === undefined ? 'PostgreSQL is not installed (bash scripts/setup.sh)' : false,
}, () => {
  const work = mkdtempSync('/var/tmp/rt-test-two-servers-');
  chmodSync(work, 0o711);
  const children = new Set<ChildProcess>();
  let cluster: PostgresCluster;
  let model: TestModelServer;
  let servers: ServerProcess[] = [];
  /** Listens to the servers' NOTIFY channel itself, to see what PostgreSQL relays. */
  let listener: pg.Client | undefined;
  const notifications: string[] = [];
  /** Whether a NOTIFY announced `runId`'s events up to `seq` (payload: `origin id:seq …`). */
  const notified = (runId: string, seq: number) =>
    notifications.some((payload) =>
      payload
        .split(' ')
        .slice(1)
        .some((entry) => {
          const [id, newest] = entry.split(':');
          return id === runId && Number(newest) >= seq;
        }),
    );

  const api = (server: ServerProcess, method: string, path: string, body?: unknown) =>
    requestJson(server.url, method, path, body === undefined ? {} : { body });
  const getRun = async (server: ServerProcess, id: string) =>
    (await api(server, 'GET', `/v1/runs/${id}`)).body as RunJson;
  /** The server process whose worker holds (or last held) the run. */
  const executorOf = (run: RunJson) =>
    servers.find((s) => run.worker?.includes(`:${s.child.pid}:`)) as ServerProcess;
  const otherThan = (server: ServerProcess) => servers.find((s) => s !== server) as ServerProcess;

  before(async () => {
    cluster = await startPostgres(postgresBin as string);
    const databaseUrl = await cluster.createDatabase();
    listener = new pg.Client({ connectionString: databaseUrl });
    listener.on('notification', (message) => {
      if (message.payload) notifications.push(message.payload);
    });
    await listener.connect();
    await listener.query('LISTEN runtools_run_events');
    model = await TestModelServer.start({ respond });
    for (const name of ['a', 'b']) {
      const server = await startServerProcess({
        ...process.env,
        DATABASE_URL: databaseUrl,
        RUNTOOLS_API_KEY: testBootstrapKey,
        RUNTOOLS_SECRET_KEY: testSecretKey,
        RUNTOOLS_DATA_DIR: join(work, name),
        RUNTOOLS_TEMPLATES_DIR: defaultTemplatesDir,
        RUNTOOLS_WORKER_CONCURRENCY: '3',
        // The test model server is on loopback.
        RUNTOOLS_MODEL_ENDPOINT_ALLOW: '127.0.0.1/32',
      });
      children.add(server.child);
      servers.push(server);
    }
    const [a] = servers as [ServerProcess];
    const runtime = await api(a, 'POST', '/v1/runtimes', {
      slug: 'shared',
      model: { provider: 'custom', endpoint: `${model.url}/v1`, model: 'scripted' },
      systemPrompt: 'You run commands.',
      tools: ['bash'],
    });
    assert.equal(runtime.status, 201, JSON.stringify(runtime.body));
    const deployment = await api(a, 'POST', '/v1/deployments', {
      apiSlug: 'shared',
      runtimeId: (runtime.body as { id: string }).id,
      template: 'debian-13',
    });
    assert.equal(deployment.status, 201, JSON.stringify(deployment.body));
  });

  after(async () => {
    for (const server of servers) {
      if (server.child.exitCode === null) process.kill(server.child.pid as number, 'SIGTERM');
    }
    await Promise.race([
      Promise.all(servers.map((s) => s.exited)),
      new Promise((r) => setTimeout(r, 20_000)),
    ]);
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await model?.close();
    await listener?.end().catch(() => {});
    await cluster?.[Symbol.asyncDispose]();
    for (const name of ['a', 'b']) {
      const engineDir = join(work, name, 'engine');
      if (!existsSync(engineDir)) continue;
      const engine = await SandboxEngine.open({
        dataDir: engineDir,
        templatesDir: defaultTemplatesDir,
      });
      for (const s of engine.list()) await engine.delete(s.id).catch(() => {});
      await engine.close();
    }
    rmSync(work, { recursive: true, force: true });
    servers = [];
  });

  it('split queued runs between them: every run executed exactly once, each event stored once', async () => {
    const count = 12;
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const server = servers[i % 2] as ServerProcess;
      const started = await api(server, 'POST', '/v1/run/shared', { input: `r${i}`, async: true });
      assert.equal(started.status, 202, JSON.stringify(started.body));
      ids.push((started.body as { runId: string }).runId);
    }
    let runs: RunJson[] = [];
    await waitFor(async () => {
      // One list request per poll: the servers rate-limit each key (20 requests/s).
      await new Promise((r) => setTimeout(r, 250));
      const page = (await api(servers[1] as ServerProcess, 'GET', '/v1/runs?limit=100')).body as {
        data: RunJson[];
      };
      runs = ids.map((id) => page.data.find((r) => r.id === id) as RunJson);
      return runs.every((r) => ['completed', 'failed', 'cancelled'].includes(r.status));
    }, 120_000).catch((error: Error) => {
      error.message += `: ${JSON.stringify(runs.map((r) => [r.status, r.worker]))}`;
      throw error;
    });
    for (const [i, run] of runs.entries()) {
      assert.equal(run.status, 'completed', JSON.stringify(run));
      assert.equal(run.attempts, 1, `run ${run.id} was claimed once`);
      assert.equal(run.output?.text, `done r${i}`);
      // Read through the server that did not execute it: the log is the database's. The worker
      // sets the run's status, then appends its status event: wait for the event.
      const events = await waitFor(async () => {
        const log = await eventsOf(otherThan(executorOf(run)).url, run.id);
        const last = log.at(-1);
        return last?.type === 'status' && last.status !== 'running' && log;
      });
      assert.deepEqual(
        events.map((e) => e.seq),
        events.map((_, n) => n + 1),
      );
      assert.deepEqual(
        events.map(kind).filter((k) => k !== 'text' && k !== 'step'),
        ['status:running', 'tool_call', 'tool_result', 'complete', 'status:completed'],
      );
    }
    const workers = new Set(runs.map((r) => executorOf(r)));
    assert.equal(
      workers.size,
      2,
      `both servers executed runs: ${runs.map((r) => r.worker).join(', ')}`,
    );
    // Each run asked the model exactly twice (tool call, answer): nothing ran twice.
    assert.equal(model.requests.length, count * 2);
    for (let i = 0; i < count; i++) {
      const asked = model.requests.filter((r) => r.messages.some((m) => m.text === `r${i}`));
      assert.equal(asked.length, 2, `run r${i} asked the model twice`);
    }
  });

  it('a run executed by one server streams live through the other (SSE and WebSocket), gapless', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    // Queued through B (whose worker is woken at once, so it usually executes it) and streamed
    // from A over the reconnect WebSocket; repeat until B did execute one.
    let crossed = false;
    for (let attempt = 0; attempt < 8 && !crossed; attempt++) {
      const started = await api(b, 'POST', '/v1/run/shared', {
        input: `streamed ${attempt}`,
        async: true,
      });
      const runId = (started.body as { runId: string }).runId;
      // The run's last model answer is held until the tool result reached this client through A:
      // a relay that delivered only at the end (or not at all) would never let the run finish.
      const release = hold(`streamed ${attempt}`);
      let toolResultSeq = 0;
      let relayed = false;
      const wsEvents = await new Promise<RunEvent[]>((resolve, reject) => {
        const ws = new WebSocket(`${a.url.replace('http', 'ws')}/v1/runs/${runId}/stream`, {
          headers: { authorization: `Bearer ${testBootstrapKey}` },
        });
        const got: RunEvent[] = [];
        ws.on('message', (data) => {
          const event = JSON.parse(String(data)) as RunEvent;
          got.push(event);
          if (event.type === 'tool_result') {
            toolResultSeq = event.seq;
            // ... and PostgreSQL NOTIFY carried it: the store is not polled for it.
            void waitFor(async () => notified(runId, event.seq))
              .then(
                () => {
                  relayed = true;
                },
                () => {},
              )
              .finally(release);
          }
        });
        ws.on('close', () => resolve(got));
        ws.on('error', reject);
      });
      assert.deepEqual(
        wsEvents.map((e) => e.seq),
        wsEvents.map((_, i) => i + 1),
      );
      assert.deepEqual(wsEvents, await eventsOf(b.url, runId), 'the stream is the stored log');
      const ended = wsEvents.at(-1) as Extract<RunEvent, { type: 'status' }>;
      assert.equal(ended.status, 'completed');
      assert.match(JSON.stringify(wsEvents.find((e) => e.type === 'tool_result')), /ran streamed/);
      assert.ok(relayed, `a NOTIFY announced the tool result (seq ${toolResultSeq})`);
      if (executorOf(await getRun(a, runId)) !== b) continue;
      crossed = true;
    }
    assert.ok(crossed, 'B executed one of the runs streamed from A');

    // SSE from B of a run it may not execute, replayed from the middle.
    const started = await api(b, 'POST', '/v1/run/shared', { input: 'sse', async: true });
    const id = (started.body as { runId: string }).runId;
    const response = await fetch(`${b.url}/v1/runs/${id}/events`, {
      headers: { authorization: `Bearer ${testBootstrapKey}` },
    });
    assert.equal(response.status, 200);
    const text = await response.text();
    const seqs = [...text.matchAll(/^id: ?(\d+)$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i + 1),
    );
    assert.match(text, /"status":"completed"/);
  });

  it('cancel and pause/resume through the server that does not execute the run', async () => {
    const [a] = servers as [ServerProcess];
    const started = await api(a, 'POST', '/v1/run/shared', { input: 'cancel-me', async: true });
    const cancelId = (started.body as { runId: string }).runId;
    const running = await waitFor(async () => {
      await new Promise((r) => setTimeout(r, 100));
      const run = await getRun(a, cancelId);
      return run.status === 'running' && run.worker !== null && run;
    });
    // Let the tool call start before asking.
    await waitFor(async () => model.requests.some((r) => r.messages[1]?.text === 'cancel-me'));
    const other = otherThan(executorOf(running));
    // The control answers `cancelled` only once the executing server stopped the run (it waits
    // for that up to 15 s, the product's own deadline, and answers `running` after it): the
    // 60 s sleep was cut, not waited for.
    const cancelled = await api(other, 'POST', `/v1/runs/${cancelId}/cancel`);
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal((cancelled.body as RunJson).status, 'cancelled');
    // Idempotent, and the other verbs answer 409 now.
    assert.equal((await api(other, 'POST', `/v1/runs/${cancelId}/cancel`)).status, 200);
    assert.equal((await api(other, 'POST', `/v1/runs/${cancelId}/pause`)).status, 409);

    const releasePaused = hold('pause-me');
    const pausable = await api(a, 'POST', '/v1/run/shared', { input: 'pause-me', async: true });
    const pauseId = (pausable.body as { runId: string }).runId;
    const holder = await waitFor(async () => {
      await new Promise((r) => setTimeout(r, 100));
      const run = await getRun(a, pauseId);
      return run.status === 'running' && run.worker !== null && run;
    });
    const paused = await api(otherThan(executorOf(holder)), 'POST', `/v1/runs/${pauseId}/pause`);
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    assert.equal((paused.body as RunJson).status, 'paused');
    releasePaused();
    const resumed = await api(executorOf(holder), 'POST', `/v1/runs/${pauseId}/resume`);
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    const done = await waitFor(async () => {
      await new Promise((r) => setTimeout(r, 200));
      const run = await getRun(a, pauseId);
      return run.status !== 'queued' && run.status !== 'running' && run;
    });
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.output?.text, 'paused on one server, resumed on the other');
    assert.equal(done.output?.steps, 3, 'the step finished before the pause was not redone');
    // No sandbox of a finished run is left on either server.
    for (const server of servers) {
      const root = join(work, server === servers[0] ? 'a' : 'b', 'engine', 'runc');
      await waitFor(async () => {
        const list = existsSync(root)
          ? execFileSync(findRunc(), ['--root', root, 'list', '-q'], { encoding: 'utf8' }).trim()
          : '';
        return list === '' || undefined;
      });
    }
  });
});
