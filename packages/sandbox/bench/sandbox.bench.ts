/**
 * Sandbox engine benchmark: `npm run bench:sandbox` (as root, after `bash scripts/setup.sh`).
 * Prints p50/p99 of create→first exec (cold and from the warm pool), exec round trip, pause,
 * resume (idle, and with the workloads of `pause-workloads.ts` running), the snapshot size, and
 * what an idle sandbox costs the host. Environment: N (samples,
 * default 30), NEXEC (exec samples, 500), NDENS (idle sandboxes for the density run, 200).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { SandboxEngine } from '../src/engine.ts';
import type { Sandbox } from '../src/sandbox.ts';
import { PAUSE_WORKLOADS } from './pause-workloads.ts';

const N = Number(process.env.N ?? 30);
const NEXEC = Number(process.env.NEXEC ?? 500);
const NDENS = Number(process.env.NDENS ?? 200);
const TEMPLATE = 'debian-13';
const templatesDir = process.env.RUNTOOLS_TEMPLATES_DIR ?? '/var/lib/runtools/templates';

interface Row {
  metric: string;
  p50: string;
  p99: string;
  note: string;
}
const rows: Row[] = [];

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}
function record(metric: string, samples: number[], note: string): void {
  const s = [...samples].sort((a, b) => a - b);
  rows.push({
    metric,
    p50: `${quantile(s, 0.5).toFixed(2)} ms`,
    p99: `${quantile(s, 0.99).toFixed(2)} ms`,
    note: `${note} (n=${s.length})`,
  });
  console.error(
    `  ${metric}: p50 ${quantile(s, 0.5).toFixed(2)} ms  p99 ${quantile(s, 0.99).toFixed(2)} ms`,
  );
}
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}
function memAvailableKiB(): number {
  const m = /MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'));
  return Number(m?.[1]);
}

const dataDir = await mkdtemp('/var/tmp/rt-bench-');
const engine = await SandboxEngine.open({ dataDir, templatesDir, pool: { [TEMPLATE]: 2 } });
const started = Date.now();
try {
  console.error(`# template ${TEMPLATE}: ${(await engine.templates.get(TEMPLATE)).version}`);

  console.error('== create -> first exec');
  const deletions: Promise<void>[] = [];
  const cold: number[] = [];
  for (let i = 0; i < N + 2; i++) {
    let sbx: Sandbox | undefined;
    const ms = await time(async () => {
      sbx = await engine.create({ template: TEMPLATE, resources: { memoryMiB: 256 } });
      await sbx.exec(['/bin/true']);
    });
    if (i >= 2) cold.push(ms); // the first two warm up caches
    // Deletion (runc delete ~100 ms) is not on the create path; don't let it overlap a sample.
    await (sbx as Sandbox).delete();
  }
  record('create_cold', cold, 'boot from template + first exec of /bin/true');
  const quota: number[] = [];
  for (let i = 0; i < Math.min(N, 10); i++) {
    let sbx: Sandbox | undefined;
    quota.push(
      await time(async () => {
        sbx = await engine.create({ template: TEMPLATE, resources: { diskMiB: 1024 } });
        await sbx.exec(['/bin/true']);
      }),
    );
    await (sbx as Sandbox).delete();
  }
  record('create_cold_disk_quota', quota, 'cold create with a 1 GiB disk quota (ext4 image)');

  const warm: number[] = [];
  for (let i = 0; i < N; i++) {
    await engine.warmUp();
    let sbx: Sandbox | undefined;
    warm.push(
      await time(async () => {
        sbx = await engine.create({ template: TEMPLATE });
        await sbx.exec(['/bin/true']);
      }),
    );
    deletions.push((sbx as Sandbox).delete());
    await Promise.all(deletions.splice(0));
  }
  record('create_warm', warm, 'claim from the warm pool + first exec of /bin/true');

  console.error('== exec round trip');
  const sbx = await engine.create({ template: TEMPLATE });
  for (let i = 0; i < 50; i++) await sbx.exec(['/bin/true']);
  const execTrue: number[] = [];
  for (let i = 0; i < NEXEC; i++) execTrue.push(await time(() => sbx.exec(['/bin/true'])));
  record('exec_true', execTrue, 'exec of /bin/true, result with exit code');
  const execSh: number[] = [];
  for (let i = 0; i < NEXEC; i++) execSh.push(await time(() => sbx.exec('true')));
  record('exec_sh_true', execSh, 'exec of `sh -c true`');
  const read: number[] = [];
  await sbx.files.write('/root/f.txt', 'x'.repeat(4096));
  for (let i = 0; i < NEXEC; i++) read.push(await time(() => sbx.files.read('/root/f.txt')));
  record('file_read_4k', read, 'files.read of a 4 KiB file');

  console.error('== pause / resume (idle sandbox)');
  const pause: number[] = [];
  const resume: number[] = [];
  const sizes: number[] = [];
  await sbx.pause();
  await sbx.resume();
  for (let i = 0; i < N; i++) {
    pause.push(await time(async () => sizes.push((await sbx.pause()).snapshotBytes ?? 0)));
    resume.push(await time(() => sbx.resume()));
  }
  record('pause', pause, 'CRIU checkpoint of an idle sandbox to disk (freezer first)');
  record('resume', resume, 'CRIU restore + supervisor reconnect');
  const sortedSizes = [...sizes].sort((a, b) => a - b);
  rows.push({
    metric: 'snapshot_size',
    p50: `${Math.round(quantile(sortedSizes, 0.5) / 1024)} KiB`,
    p99: `${Math.round(quantile(sortedSizes, 0.99) / 1024)} KiB`,
    note: 'checkpoint image on disk',
  });
  const busy = await engine.create({ template: TEMPLATE });
  await busy.spawn([
    'python3',
    '-c',
    'import time\nx = bytearray(64 << 20)\nwhile True: time.sleep(1)',
  ]);
  await new Promise((r) => setTimeout(r, 500));
  const bp: number[] = [];
  const br: number[] = [];
  for (let i = 0; i < Math.min(N, 10); i++) {
    bp.push(await time(() => busy.pause()));
    br.push(await time(() => busy.resume()));
  }
  record('pause_64mib', bp, 'pause with a 64 MiB Python process');
  record('resume_64mib', br, 'resume with a 64 MiB Python process');
  await busy.delete();

  for (const w of PAUSE_WORKLOADS) {
    console.error(`== pause / resume with ${w.what}`);
    const box = await engine.create({ template: w.template });
    if (w.setup) {
      const r = await box.exec(['bash', '-c', w.setup]);
      if (r.exitCode !== 0) throw new Error(`${w.name} setup failed: ${r.stderr}`);
    }
    if (w.server) await box.spawn(w.server);
    const ready = async () => {
      for (let i = 0; (await box.exec(['bash', '-c', w.ready])).exitCode !== 0; i++) {
        if (i > 500) throw new Error(`${w.name} does not serve`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await ready();
    const wp: number[] = [];
    const wr: number[] = [];
    const wsize: number[] = [];
    for (let i = 0; i < Math.min(N, 10); i++) {
      wp.push(await time(async () => wsize.push((await box.pause()).snapshotBytes ?? 0)));
      wr.push(await time(() => box.resume()));
      await ready(); // serving again, untimed
    }
    record(`pause_${w.name}`, wp, `pause with ${w.what}`);
    record(`resume_${w.name}`, wr, `resume with ${w.what} (then it serves)`);
    const ws = wsize.sort((a, b) => a - b);
    rows.push({
      metric: `snapshot_size_${w.name}`,
      p50: `${(quantile(ws, 0.5) / 2 ** 20).toFixed(1)} MiB`,
      p99: `${(quantile(ws, 0.99) / 2 ** 20).toFixed(1)} MiB`,
      note: `checkpoint image with ${w.what}`,
    });
    await box.delete();
  }
  await sbx.delete();

  console.error(`== density: ${NDENS} idle sandboxes`);
  await engine.close();
  const dens = await SandboxEngine.open({ dataDir, templatesDir });
  const before = memAvailableKiB();
  const boxes: Sandbox[] = [];
  const t0 = performance.now();
  for (let i = 0; i < NDENS; i++)
    boxes.push(await dens.create({ template: TEMPLATE, resources: { memoryMiB: 64 } }));
  const startMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 2000));
  const perBoxKiB = (before - memAvailableKiB()) / NDENS;
  const memcg = boxes.map(
    (b) =>
      Number(readFileSync(`/sys/fs/cgroup/memory/runtools/${b.id}/memory.usage_in_bytes`, 'utf8')) /
      1024,
  );
  const memcgAvg = memcg.reduce((a, b) => a + b, 0) / memcg.length;
  const alive = (
    await Promise.all(boxes.map((b) => b.exec(['/bin/true']).then((r) => r.exitCode === 0)))
  ).filter(Boolean).length;
  const fit = Math.floor(((totalmem() / 1024) * 0.9) / Math.max(perBoxKiB, 1));
  rows.push({
    metric: 'idle_sandbox_host_memory',
    p50: `${perBoxKiB.toFixed(0)} KiB`,
    p99: '-',
    note: `MemAvailable drop / ${NDENS} idle sandboxes (all ${alive} answered an exec)`,
  });
  rows.push({
    metric: 'idle_sandbox_memcg',
    p50: `${memcgAvg.toFixed(0)} KiB`,
    p99: '-',
    note: 'average memory.usage_in_bytes of a sandbox cgroup',
  });
  rows.push({
    metric: 'idle_sandboxes_that_fit',
    p50: `~${fit}`,
    p99: '-',
    note: `90% of ${(totalmem() / 2 ** 30).toFixed(1)} GiB / host memory per idle sandbox`,
  });
  rows.push({
    metric: 'density_start_total',
    p50: `${(startMs / 1000).toFixed(1)} s`,
    p99: '-',
    note: `${NDENS} sandboxes created one after another`,
  });
  const td = performance.now();
  for (let i = 0; i < boxes.length; i += 8)
    await Promise.all(boxes.slice(i, i + 8).map((b) => b.delete()));
  rows.push({
    metric: 'density_delete_total',
    p50: `${((performance.now() - td) / 1000).toFixed(1)} s`,
    p99: '-',
    note: `${NDENS} sandboxes deleted, 8 at a time`,
  });
  await dens.close();
} finally {
  await engine.close().catch(() => {});
  await rm(dataDir, { recursive: true, force: true });
}

console.log(
  `# npm run bench:sandbox  ${new Date().toISOString()}  ${availableParallelism()} cpus, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, kernel ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}  (${((Date.now() - started) / 1000).toFixed(0)} s)`,
);
console.log('| metric | p50 | p99 | what |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.metric} | ${r.p50} | ${r.p99} | ${r.note} |`);
