/**
 * The run API under load: `npm run bench:server`. Starts the real server (`main.ts`) as a child
 * process on loopback with a warm sandbox pool and drives it from this process, which also serves
 * an instant scripted model (the test model server: one `bash` tool call, then an answer).
 *
 * Reports, over WebSocket `WS /v1/run/{slug}/stream`:
 * - the time from sending the first message to the `run` acknowledgement and to the first run
 *   event (`status: running`, written to the database before it is sent), p50/p99;
 * - the time to the run's last event (a whole run: sandbox, two model calls, one tool call).
 * Then runs completed per second with `POST /v1/run/{slug}` (waiting for the result) at several
 * concurrency levels, each for a fixed duration.
 *
 * Environment: RUNS (latency samples, default 200), SECONDS (per concurrency level, default 10),
 * CONCURRENCY (default "1,4,8,16"), POOL (warm sandboxes, default 8), DATABASE (sqlite |
 * postgres, default sqlite: postgres starts a private cluster from Debian's packages).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { SandboxEngine } from '@runtools/sandbox';
import WebSocket from 'ws';
import { TestModelServer } from '../../agent/src/testing/test-model-server.ts';
import { defaultTemplatesDir } from '../src/testing/control-plane.ts';
import { startServerProcess } from '../src/testing/server-process.ts';
import { findPostgresBin, startPostgres } from '../src/testing/test-databases.ts';
import { requestJson } from '../src/testing/test-server.ts';

const RUNS = Number(process.env.RUNS ?? 200);
const SECONDS = Number(process.env.SECONDS ?? 10);
const LEVELS = (process.env.CONCURRENCY ?? '1,4,8,16').split(',').map(Number);
const POOL = Number(process.env.POOL ?? 8);
const DATABASE = process.env.DATABASE ?? 'sqlite';
const KEY = 'bench-key-0123456789abcdef-0123456789';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function summary(label: string, samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const f = (n: number) => n.toFixed(1).padStart(7);
  return `${label.padEnd(34)} p50 ${f(percentile(s, 50))} ms  p99 ${f(percentile(s, 99))} ms  (n=${s.length})`;
}

/** One run over the WebSocket: times to the ack, the first event and the last one. */
function streamedRun(wsUrl: string): Promise<{ ack: number; first: number; end: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${KEY}` } });
    let t0 = 0;
    let ack = 0;
    let first = 0;
    let last = 0;
    ws.on('open', () => {
      t0 = performance.now();
      ws.send(JSON.stringify({ input: 'bench' }));
    });
    ws.on('message', (data) => {
      const now = performance.now() - t0;
      const message = JSON.parse(String(data)) as { type: string; seq?: number };
      if (message.type === 'run') ack = now;
      else if (message.seq !== undefined) {
        if (first === 0) first = now;
        last = now;
      } else reject(new Error(`unexpected message ${String(data)}`));
    });
    ws.on('close', () =>
      first > 0 ? resolve({ ack, first, end: last }) : reject(new Error('no events')),
    );
    ws.on('error', reject);
  });
}

const work = await mkdtemp('/var/tmp/rt-bench-server-');
const cluster =
  DATABASE === 'postgres' ? await startPostgres(findPostgresBin() as string) : undefined;
const model = await TestModelServer.start({
  respond: (request) =>
    request.messages.some((m) => m.role === 'tool')
      ? { text: 'done' }
      : { toolCalls: [{ name: 'bash', input: { command: 'echo hi' } }] },
});
const maxConcurrency = Math.max(...LEVELS);
const server = await startServerProcess({
  ...process.env,
  RUNTOOLS_API_KEY: KEY,
  // Required with PostgreSQL; harmless with SQLite.
  RUNTOOLS_SECRET_KEY: randomBytes(32).toString('base64'),
  RUNTOOLS_DATA_DIR: work,
  RUNTOOLS_TEMPLATES_DIR: defaultTemplatesDir,
  RUNTOOLS_WARM_POOL: `debian-13:${POOL}`,
  RUNTOOLS_WORKER_CONCURRENCY: String(maxConcurrency),
  // The benchmark's client shares the key: don't let the per-key limit be what is measured.
  RUNTOOLS_RATE_LIMIT: 'off',
  // The model endpoint is the test model server, on loopback.
  RUNTOOLS_MODEL_ENDPOINT_ALLOW: '127.0.0.1/32',
  ...(cluster ? { DATABASE_URL: await cluster.createDatabase() } : {}),
});
const api = (method: string, path: string, body?: unknown) =>
  requestJson(server.url, method, path, { key: KEY, ...(body === undefined ? {} : { body }) });

try {
  const runtime = await api('POST', '/v1/runtimes', {
    slug: 'bench',
    model: { provider: 'custom', endpoint: `${model.url}/v1`, model: 'instant' },
    systemPrompt: 'Benchmark.',
    tools: ['bash'],
  });
  if (runtime.status !== 201) throw new Error(JSON.stringify(runtime.body));
  const deployment = await api('POST', '/v1/deployments', {
    apiSlug: 'bench',
    runtimeId: (runtime.body as { id: string }).id,
    template: 'debian-13',
  });
  if (deployment.status !== 201) throw new Error(JSON.stringify(deployment.body));
  const wsUrl = `${server.url.replace(/^http/, 'ws')}/v1/run/bench/stream`;

  // Warm-up: the pool fills, the first runs pay for module and connection set-up.
  await new Promise((r) => setTimeout(r, 2000));
  for (let i = 0; i < 5; i++) await streamedRun(wsUrl);

  const acks: number[] = [];
  const firsts: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await streamedRun(wsUrl);
    acks.push(r.ack);
    firsts.push(r.first);
    ends.push(r.end);
    // One run at a time, as a client would start them: the pool refills between runs.
    await new Promise((r) => setTimeout(r, 20));
  }
  console.log(`RunTools run API (${DATABASE}, warm pool ${POOL}, scripted model on loopback)`);
  console.log(summary('WS first message -> run ack', acks));
  console.log(summary('WS first message -> first event', firsts));
  console.log(summary('WS first message -> run complete', ends));

  console.log(
    `\nruns completed per second, POST /v1/run/bench (waits for the result), ${SECONDS} s each`,
  );
  for (const concurrency of LEVELS) {
    const deadline = performance.now() + SECONDS * 1000;
    const latencies: number[] = [];
    let failed = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < deadline) {
          const t0 = performance.now();
          const r = await api('POST', '/v1/run/bench', { input: 'bench' });
          if (r.status === 200 && (r.body as { status: string }).status === 'completed')
            latencies.push(performance.now() - t0);
          else failed++;
        }
      }),
    );
    const sorted = latencies.sort((a, b) => a - b);
    console.log(
      `concurrency ${String(concurrency).padStart(2)}: ${(latencies.length / SECONDS).toFixed(1).padStart(6)} runs/s` +
        `  latency p50 ${percentile(sorted, 50).toFixed(0)} ms p99 ${percentile(sorted, 99).toFixed(0)} ms` +
        (failed > 0 ? `  (${failed} not completed)` : ''),
    );
  }
} finally {
  process.kill(server.child.pid as number, 'SIGTERM');
  await server.exited;
  await model.close();
  await cluster?.[Symbol.asyncDispose]();
  // Whatever the server left (it deletes its sandboxes on drain): recovered and removed.
  const engine = await SandboxEngine.open({
    dataDir: `${work}/engine`,
    templatesDir: defaultTemplatesDir,
  });
  for (const s of engine.list()) await engine.delete(s.id).catch(() => {});
  await engine.close();
  await rm(work, { recursive: true, force: true });
}
