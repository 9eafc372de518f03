/**
 * Pause and resume through the HTTP API: `npm run bench:sandbox-api` (as root, after
 * `bash scripts/setup.sh`). Starts the whole server in this process (`startServer`, SQLite, on
 * loopback) and times `POST /v1/sandboxes/{id}/pause` and `/resume` from request to response,
 * for an idle `debian-13` sandbox and for the workloads of the sandbox benchmark (a Node.js HTTP
 * server; PostgreSQL and Redis in `full-stack`), each checked to serve again after every resume
 * (untimed). Environment: N (cycles per workload, default 10).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { PAUSE_WORKLOADS, type PauseWorkload } from '../../sandbox/bench/pause-workloads.ts';
import { silentLogger } from '../src/http/logger.ts';
import { startServer } from '../src/server.ts';
import { defaultTemplatesDir } from '../src/testing/control-plane.ts';
import { requestJson } from '../src/testing/test-server.ts';

const N = Number(process.env.N ?? 10);
const KEY = 'bench-key-0123456789abcdef';

function percentile(sorted: number[], p: number): number {
  return (
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
  );
}

const rows: string[] = [];
function record(metric: string, samples: number[], what: string): void {
  const s = [...samples].sort((a, b) => a - b);
  const row = `| ${metric} | ${percentile(s, 50).toFixed(1)} ms | ${percentile(s, 99).toFixed(1)} ms | ${what} (n=${s.length}) |`;
  rows.push(row);
  console.error(`  ${row}`);
}

const dataDir = await mkdtemp('/var/tmp/rt-bench-pause-api-');
const server = await startServer({
  dataDir,
  templatesDir: defaultTemplatesDir,
  port: 0,
  apiKey: KEY,
  rateLimit: false,
  logger: silentLogger,
});
const api = async (method: string, path: string, body?: unknown) => {
  const r = await requestJson(server.url, method, path, {
    key: KEY,
    ...(body === undefined ? {} : { body }),
  });
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as Record<string, unknown>;
};
const exec = (id: string, script: string, background = false) =>
  api('POST', `/v1/sandboxes/${id}/exec`, {
    command: ['bash', '-c', script],
    ...(background ? { background } : {}),
  });

const started = Date.now();
try {
  const idle: PauseWorkload = {
    name: 'idle',
    template: 'debian-13',
    ready: 'true',
    what: 'an idle debian-13 sandbox',
  };
  for (const w of [idle, ...PAUSE_WORKLOADS]) {
    console.error(`== ${w.what}`);
    const { id } = (await api('POST', '/v1/sandboxes', { template: w.template })) as { id: string };
    if (w.setup) {
      const r = await exec(id, w.setup);
      if (r.exitCode !== 0) throw new Error(`${w.name} setup failed: ${String(r.stderr)}`);
    }
    if (w.server) {
      await api('POST', `/v1/sandboxes/${id}/exec`, { command: w.server, background: true });
    }
    const ready = async () => {
      for (let i = 0; (await exec(id, w.ready)).exitCode !== 0; i++) {
        if (i > 500) throw new Error(`${w.name} does not serve`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await ready();
    // One cycle to warm up (first checkpoint of this sandbox, module loading).
    await api('POST', `/v1/sandboxes/${id}/pause`);
    await api('POST', `/v1/sandboxes/${id}/resume`);
    const pause: number[] = [];
    const resume: number[] = [];
    for (let i = 0; i < N; i++) {
      let t0 = performance.now();
      const paused = await api('POST', `/v1/sandboxes/${id}/pause`);
      pause.push(performance.now() - t0);
      if (paused.state !== 'paused') throw new Error(`pause answered ${JSON.stringify(paused)}`);
      t0 = performance.now();
      await api('POST', `/v1/sandboxes/${id}/resume`);
      resume.push(performance.now() - t0);
      await ready();
    }
    record(`api_pause_${w.name}`, pause, `POST /pause with ${w.what}`);
    record(`api_resume_${w.name}`, resume, `POST /resume with ${w.what}`);
    await api('DELETE', `/v1/sandboxes/${id}`);
  }
} finally {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}

console.log(
  `# npm run bench:sandbox-api  ${new Date().toISOString()}  ${availableParallelism()} cpus, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, load ${loadavg()[0]?.toFixed(1)}  (${((Date.now() - started) / 1000).toFixed(0)} s)`,
);
console.log('| metric | p50 | p99 | what |');
console.log('|---|---|---|---|');
for (const row of rows) console.log(row);
