import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { type Sandbox, SandboxEngine } from '@runtools/sandbox';
import type { AgentTool, ToolContext, ToolResult } from '../tools/tool.ts';

/** A real sandbox for one test suite, and a way to call tools in it. */
export interface SandboxFixture {
  readonly sandbox: Sandbox;
  /** A fresh tool context (new run state) for the sandbox; `overrides` replace its fields. */
  context(overrides?: Partial<ToolContext>): ToolContext;
  /**
   * Validates `input` with the tool's schema (as the agent loop does) and runs the tool, in
   * `ctx` or a fresh context.
   */
  call<I>(tool: AgentTool<I>, input: unknown, ctx?: ToolContext): Promise<ToolResult>;
  /** Runs a shell command in the sandbox and returns its stdout (set-up and checks). */
  sh(command: string): Promise<string>;
}

/**
 * Registers before/after hooks in the current suite: opens a sandbox engine on a fresh data
 * directory under /var/tmp, creates one `template` sandbox (default `debian-13`: bash,
 * coreutils, ripgrep, procps, python3), and afterwards deletes every sandbox, closes the engine
 * and removes the directory.
 */
export function useSandbox(name: string, template = 'debian-13'): SandboxFixture {
  let engine: SandboxEngine | undefined;
  let sandbox: Sandbox | undefined;
  let dataDir: string | undefined;
  const fixture: SandboxFixture = {
    get sandbox() {
      if (!sandbox) throw new Error('the fixture sandbox is not ready (use it inside tests)');
      return sandbox;
    },
    context(overrides = {}) {
      return {
        sandbox: fixture.sandbox,
        signal: new AbortController().signal,
        state: {},
        ...overrides,
      };
    },
    async call(tool, input, ctx) {
      return tool.execute(tool.inputSchema.parse(input), ctx ?? fixture.context());
    },
    async sh(command) {
      const r = await fixture.sandbox.exec(['bash', '-c', command]);
      if (r.exitCode !== 0) throw new Error(`${command} failed (${r.exitCode}): ${r.stderr}`);
      return r.stdout;
    },
  };
  before(async () => {
    dataDir = mkdtempSync(join('/var/tmp', `rt-agent-${name}-`));
    engine = await SandboxEngine.open({
      dataDir,
      templatesDir: process.env.RUNTOOLS_TEMPLATES_DIR ?? '/var/lib/runtools/templates',
    });
    sandbox = await engine.create({ template });
  });
  after(async () => {
    if (engine) {
      for (const s of engine.list()) await engine.delete(s.id).catch(() => {});
      await engine.close();
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  return fixture;
}
