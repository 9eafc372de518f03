/**
 * The dashboard's run pages under load, measured in the browser: `npm run bench:dashboard`
 * (build first: `npm run build`). Starts the real server on loopback (the e2e fixture: SQLite,
 * headless Chromium driven by playwright-core) with its run worker stopped, so what the bench
 * puts in the store stays as it is put.
 *
 * 1. The runs list with RUNS runs in the database (default 1,000, a mix of statuses with steps
 *    and tokens): LOADS full page loads of `/runs`, each timed from the navigation's start to the
 *    first rows painted (the Element Timing entry of the first row's link; the page's own mark,
 *    set when the rows are committed, where Element Timing is missing). The first COLD loads
 *    (default 5) start from an empty HTTP cache and fetch and compile the app's script, as a
 *    reader's first visit does; the later ones find it in the cache, as a second visit does.
 * 2. A run page fed RATE events a second for SECONDS (default 200/s for 10 s) through the store
 *    and the live event hub, as a worker writes them: reasoning and answer deltas, tool calls with
 *    their results, steps. It checks that the page applied every seq once (its count and the
 *    events its blocks stand for), that every delta's text is on the page once, and reports how
 *    far behind the page fell and how long it took to catch up after the last event.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunEvent, RunEventInput } from '@runtools/sdk';
import { startDashboard } from '../e2e/dashboard-fixture.ts';

const RUNS = Number(process.env.RUNS ?? 1000);
const COLD = Number(process.env.COLD ?? 5);
const LOADS = Number(process.env.LOADS ?? 20);
const RATE = Number(process.env.RATE ?? 200);
const SECONDS = Number(process.env.SECONDS ?? 10);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const ms = (n: number) => `${n.toFixed(1)} ms`;

await using d = await startDashboard();
await d.server.worker.stop();
const deploymentId = await d.deployScriptedAgent('bench');
const { store, hub } = d.server;

const publish = async (runId: string, events: RunEventInput[]): Promise<RunEvent[]> => {
  const stored = await store.events.append(runId, events);
  for (const event of stored) hub.publish(runId, event);
  return stored;
};

// 1. The runs list.
const usage = (n: number) => ({ inputTokens: 300 * n, outputTokens: 40 * n, totalTokens: 340 * n });
const started = performance.now();
for (let i = 0; i < RUNS; i++) {
  const run = await store.runs.create({ deploymentId, input: `bench run ${i}` });
  if (i % 10 === 9) {
    await store.runs.transition(run.id, 'cancelled');
    continue;
  }
  await store.runs.transition(run.id, 'running');
  const steps = 1 + (i % 4);
  await store.events.append(run.id, [
    { type: 'status', status: 'running' },
    ...Array.from({ length: steps }, (_, s) => ({
      type: 'step' as const,
      step: s + 1,
      usage: usage(1),
      finishReason: 'tool-calls',
    })),
  ]);
  if (i % 10 === 8) {
    await store.runs.transition(run.id, 'failed', {
      error: { code: 'model_error', message: 'The model answered 500.' },
    });
  } else {
    await store.runs.transition(run.id, 'completed', {
      output: { text: 'done', usage: usage(steps), steps },
    });
  }
}
console.log(`${RUNS} runs in the database (${ms(performance.now() - started)} to insert)`);

const page = await d.signedIn();
// The cold loads start from an empty HTTP cache: each fetches and compiles the app's script.
const cdp = await page.context().newCDPSession(page);
await cdp.send('Network.enable');
interface Load {
  paint: number;
  source: string;
  rows: number;
  /** Milestones of the load (ms from navigation start): the page, its script, the API calls. */
  steps: Record<string, number>;
}
const loads: Load[] = [];
for (let i = 0; i < COLD + LOADS; i++) {
  if (i < COLD) await cdp.send('Network.clearBrowserCache');
  await page.goto('/runs', { waitUntil: 'commit' });
  await page.waitForFunction(
    () => performance.getEntriesByName('runs-first-rows', 'mark').length > 0,
    undefined,
    { polling: 'raf', timeout: 30_000 },
  );
  loads.push(
    await page.evaluate(
      () =>
        new Promise<Load>((resolve) => {
          const rows = document.querySelectorAll('table[aria-label="Runs"] tbody tr').length;
          const mark = performance.getEntriesByName('runs-first-rows', 'mark')[0]?.startTime ?? 0;
          const steps: Record<string, number> = {};
          const [nav] = performance.getEntriesByType('navigation') as PerformanceNavigationTiming[];
          steps.html = nav?.responseEnd ?? 0;
          for (const entry of performance.getEntriesByType(
            'resource',
          ) as PerformanceResourceTiming[]) {
            const path = new URL(entry.name).pathname;
            const name = path.endsWith('.js')
              ? 'script'
              : path.endsWith('.css')
                ? 'css'
                : path.replace('/v1/', '');
            steps[`${name} start`] = entry.startTime;
            steps[`${name} end`] = entry.responseEnd;
          }
          steps['rows committed'] = mark;
          const fallback = setTimeout(
            () => resolve({ paint: mark, source: 'mark', rows, steps }),
            1000,
          );
          new PerformanceObserver((list, observer) => {
            const entry = list
              .getEntries()
              .find(
                (e) =>
                  (e as PerformanceEntry & { identifier?: string }).identifier ===
                  'runs-first-rows',
              ) as (PerformanceEntry & { renderTime: number; loadTime: number }) | undefined;
            if (entry === undefined) return;
            observer.disconnect();
            clearTimeout(fallback);
            resolve({
              paint: entry.renderTime || entry.loadTime,
              source: 'element timing',
              rows,
              steps,
            });
          }).observe({ type: 'element', buffered: true });
        }),
    ),
  );
}
const coldLoads = loads.slice(0, COLD);
const warm = loads.slice(COLD);
const coldPaints = coldLoads.map((l) => l.paint).sort((a, b) => a - b);
const cold = coldLoads.find((l) => l.paint === percentile(coldPaints, 50));
/** When each part of a load ended (ms from navigation start), in order. */
const steps = (load: Load | undefined) =>
  Object.entries(load?.steps ?? {})
    .filter(([name]) => !name.includes('favicon'))
    .sort((a, b) => a[1] - b[1])
    .map(([name, at]) => `${name} ${at.toFixed(0)}`)
    .join(', ');
const warmPaints = warm.map((l) => l.paint).sort((a, b) => a - b);
console.log(
  `runs page, first screen (${cold?.rows} rows of ${RUNS}), navigation start → first rows painted (${cold?.source}), ms:`,
);
console.log(
  `  ${COLD} first loads, empty cache (script fetched): p50 ${ms(percentile(coldPaints, 50))}, max ${ms(coldPaints.at(-1) ?? Number.NaN)}; the median one: ${steps(cold)}`,
);
console.log(
  `  next ${warm.length} loads: p50 ${ms(percentile(warmPaints, 50))}, p95 ${ms(percentile(warmPaints, 95))}, max ${ms(warmPaints.at(-1) ?? Number.NaN)}`,
);
const median = warm.find((l) => l.paint === percentile(warmPaints, 50));
console.log(`  the median load: ${steps(median)}`);

// 2. A run page keeping up with RATE events a second.
const run = await store.runs.create({ deploymentId, input: 'a fast run' });
await store.runs.transition(run.id, 'running');
await publish(run.id, [{ type: 'status', status: 'running' }]);
await page.goto(`/runs/${run.id}`);
await page.getByRole('list', { name: 'Run events' }).waitFor();
await page.waitForFunction(
  () =>
    document.querySelector('ol[aria-label="Run events"]')?.getAttribute('data-event-count') === '1',
);

/** The events of one step: reasoning, answer text, a tool call and its result, the step's end. */
function stepEvents(step: number, next: () => number): RunEventInput[] {
  const events: RunEventInput[] = [];
  // Every delta, command and output carries its own marker, ended by ";" (t12; is not t123;).
  for (let i = 0; i < 6; i++) events.push({ type: 'thinking', step, delta: `t${next()}; ` });
  for (let i = 0; i < 10; i++) events.push({ type: 'text', step, delta: `w${next()}; ` });
  const id = `call_${step}`;
  const marker = next();
  events.push({
    type: 'tool_call',
    step,
    id,
    name: 'bash',
    input: { command: `echo c${marker};` },
  });
  events.push({
    type: 'tool_result',
    step,
    id,
    name: 'bash',
    output: `r${marker};\n${'line\n'.repeat(30)}[exit code 0]`,
    isError: false,
    durationMs: 3,
  });
  events.push({ type: 'step', step, usage: usage(1), finishReason: 'tool-calls' });
  return events;
}

let counter = 0;
const next = () => ++counter;
const total = RATE * SECONDS;
const queue: RunEventInput[] = [];
for (let step = 1; queue.length < total - 1; step++) queue.push(...stepEvents(step, next));
queue.length = total - 1;
const readCount = () =>
  page.evaluate(() =>
    Number(document.querySelector('ol[aria-label="Run events"]')?.getAttribute('data-event-count')),
  );

let lastSeq = 1;
let maxLag = 0;
let sampledAt = 0;
const t0 = performance.now();
for (let i = 0; i < queue.length; i++) {
  const due = t0 + ((i + 1) * 1000) / RATE;
  const wait = due - performance.now();
  if (wait > 0) await sleep(wait);
  const [stored] = await publish(run.id, [queue[i] as RunEventInput]);
  lastSeq = stored?.seq ?? lastSeq;
  if (performance.now() - sampledAt > 250) {
    sampledAt = performance.now();
    maxLag = Math.max(maxLag, lastSeq - (await readCount()));
  }
}
await store.runs.transition(run.id, 'completed', {
  output: { text: 'done', usage: usage(1), steps: 1 },
});
const [end] = await publish(run.id, [{ type: 'status', status: 'completed' }]);
const sent = performance.now() - t0;
const lastSent = performance.now();
await page.waitForFunction(
  (seq) =>
    document.querySelector('ol[aria-label="Run events"]')?.getAttribute('data-event-count') ===
    String(seq),
  end?.seq,
  { polling: 'raf', timeout: 60_000 },
);
const caughtUp = performance.now() - lastSent;

const check = await page.evaluate(
  (markers) => {
    const list = document.querySelector('ol[aria-label="Run events"]');
    const blocks = [...(list?.querySelectorAll('[data-events]') ?? [])].reduce(
      (sum, el) => sum + Number(el.getAttribute('data-events')),
      0,
    );
    const text = list?.textContent ?? '';
    const missing: string[] = [];
    const twice: string[] = [];
    for (const marker of markers) {
      const first = text.indexOf(marker);
      if (first === -1) missing.push(marker);
      else if (text.indexOf(marker, first + 1) !== -1) twice.push(marker);
    }
    return { count: Number(list?.getAttribute('data-event-count')), blocks, missing, twice };
  },
  queue.flatMap((e) => {
    const marker = (text: string) => text.match(/[a-z]\d+;/)?.[0] ?? [];
    if (e.type === 'thinking' || e.type === 'text') return marker(e.delta);
    if (e.type === 'tool_call') return marker((e.input as { command: string }).command);
    if (e.type === 'tool_result') return marker(e.output);
    return [];
  }),
);

const stored = await d.rt.runs.events(run.id);
const ok =
  check.count === stored.length &&
  check.blocks === stored.length &&
  stored.every((e, i) => e.seq === i + 1) &&
  check.missing.length === 0 &&
  check.twice.length === 0;
console.log(
  `run page, ${stored.length} events at ${RATE}/s for ${SECONDS} s (sent in ${ms(sent)}, ${((stored.length - 1) / (sent / 1000)).toFixed(0)}/s):`,
);
console.log(
  `  applied ${check.count} events, blocks stand for ${check.blocks}, seqs 1..${stored.length}: ${ok ? 'every event shown once' : 'MISMATCH'}` +
    (check.missing.length + check.twice.length > 0
      ? ` (missing ${check.missing.slice(0, 5).join(' ')}; twice ${check.twice.slice(0, 5).join(' ')})`
      : ''),
);
console.log(
  `  most behind while streaming: ${maxLag} events (${ms((maxLag * 1000) / RATE)}); caught up ${ms(caughtUp)} after the last event`,
);
if (!ok) process.exitCode = 1;
