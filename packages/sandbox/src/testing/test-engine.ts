import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { SandboxEngine, type SandboxEngineOptions } from '../engine.ts';
import { findRunc } from '../host/runc.ts';

/** Templates are shared between test files and runs: a cold build takes ~20 s. */
export const TEST_TEMPLATES_DIR =
  process.env.RUNTOOLS_TEMPLATES_DIR ?? '/var/lib/runtools/templates';

/** A fresh data directory under /var/tmp (not /tmp: it may be a tmpfs without overlay upper support). */
export function testDataDir(name: string): string {
  return mkdtempSync(join('/var/tmp', `rt-test-${name}-`));
}

export async function openTestEngine(
  dataDir: string,
  options: Omit<SandboxEngineOptions, 'dataDir'> = {},
): Promise<SandboxEngine> {
  return SandboxEngine.open({ dataDir, templatesDir: TEST_TEMPLATES_DIR, ...options });
}

/**
 * Asserts that nothing of the engine is left on the host: no container in its runc state root,
 * no mount below the data directory, no network namespace of its sandboxes. Then removes the dir.
 */
export function assertNoLeaks(dataDir: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p && p.startsWith(dataDir));
  assert.deepEqual(mounts, [], 'mounts left below the test data dir');
  let containers: unknown[] = [];
  try {
    containers =
      JSON.parse(
        execFileSync(findRunc(), ['--root', join(dataDir, 'runc'), 'list', '--format', 'json'], {
          encoding: 'utf8',
        }) || 'null',
      ) ?? [];
  } catch {
    containers = [];
  }
  assert.deepEqual(containers, [], 'runc containers left');
  rmSync(dataDir, { recursive: true, force: true });
}

/**
 * Polls `fn` until it returns a truthy value, and returns that value. The timeout only turns a
 * condition that never comes into a failure instead of a hang: it is generous (60 s) because the
 * suite must hold on a slow, loaded machine, and a condition that holds costs no more than its
 * own time.
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 60_000, intervalMs = 20 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** An engine on a fresh data directory for one test suite, and what it needs to restart. */
export interface TestEngine {
  readonly engine: SandboxEngine;
  readonly dataDir: string;
  /** Closes the engine and opens a new one on the same directory (an engine restart). */
  restart(options?: Omit<SandboxEngineOptions, 'dataDir'>): Promise<SandboxEngine>;
}

/**
 * Registers before/after hooks in the current suite: opens an engine on a fresh data directory,
 * and afterwards deletes every sandbox, closes the engine and asserts nothing leaked.
 */
export function useTestEngine(
  name: string,
  options: Omit<SandboxEngineOptions, 'dataDir'> = {},
): TestEngine {
  const dataDir = testDataDir(name);
  let engine: SandboxEngine | undefined;
  const t: TestEngine = {
    get engine() {
      if (!engine) throw new Error('the test engine is not open');
      return engine;
    },
    dataDir,
    async restart(again = options) {
      await engine?.close();
      engine = await openTestEngine(dataDir, again);
      return engine;
    },
  };
  before(async () => {
    engine = await openTestEngine(dataDir, options);
  });
  after(async () => {
    if (engine) {
      for (const s of engine.list()) await engine.delete(s.id).catch(() => {});
      await engine.close();
    }
    assertNoLeaks(dataDir);
  });
  return t;
}
