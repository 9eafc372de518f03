// A node:test reporter that prints, once the run ends, the ten slowest tests and the five
// slowest files (with their hooks), so a slow creep in the suite is visible in every CI log.
// Used beside the spec reporter: see the "test" script in package.json.
import { relative } from 'node:path';

const TOP_TESTS = 10;
const TOP_FILES = 5;

export default async function* slowestTests(source) {
  const tests = [];
  const files = new Map();
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, nesting, file, details } = event.data;
    const ms = details?.duration_ms ?? 0;
    const where = file ? relative(process.cwd(), file) : '?';
    if (details?.type !== 'suite')
      tests.push({ name, where, ms, failed: event.type === 'test:fail' });
    // Top-level tests and suites of a file add up to the file's time, before/after hooks included.
    if (nesting === 0) files.set(where, (files.get(where) ?? 0) + ms);
  }
  if (!tests.length) return;
  const fmt = (ms) => `${(ms / 1000).toFixed(1).padStart(6)} s`;
  yield `\nSlowest ${Math.min(TOP_TESTS, tests.length)} tests:\n`;
  for (const t of tests.sort((a, b) => b.ms - a.ms).slice(0, TOP_TESTS)) {
    yield `  ${fmt(t.ms)}  ${t.name}${t.failed ? ' (failed)' : ''}  — ${t.where}\n`;
  }
  yield `Slowest ${Math.min(TOP_FILES, files.size)} files:\n`;
  for (const [where, ms] of [...files].sort((a, b) => b[1] - a[1]).slice(0, TOP_FILES)) {
    yield `  ${fmt(ms)}  ${where}\n`;
  }
  const total = [...files.values()].reduce((a, b) => a + b, 0);
  yield `All ${tests.length} tests: ${fmt(total).trim()} in test files\n`;
}
