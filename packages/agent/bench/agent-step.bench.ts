/**
 * The platform's overhead per agent step: `npm run bench:agent`. An instant scripted model (the
 * test model server on loopback) asks for a trivial tool (`bash` running `true` in a real
 * sandbox) every step; the time between step events is what RunTools itself costs per step:
 * the model request and stream parsing, event emission, the tool's sandbox exec.
 * Environment: STEPS (default 200), PROVIDER (custom | openai | anthropic, default custom).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { SandboxEngine } from '@runtools/sandbox';
import { defineAgent } from '@runtools/sdk';
import { runAgent } from '../src/loop/run-agent.ts';
import { ModelAccess } from '../src/models/model-access.ts';
import { loopbackRanges } from '../src/net/forbidden-ranges.ts';
import { TestModelServer } from '../src/testing/test-model-server.ts';

const STEPS = Number(process.env.STEPS ?? 200);
const PROVIDER = process.env.PROVIDER ?? 'custom';
const dataDir = await mkdtemp('/var/tmp/rt-bench-agent-');
const engine = await SandboxEngine.open({
  dataDir,
  templatesDir: process.env.RUNTOOLS_TEMPLATES_DIR ?? '/var/lib/runtools/templates',
});
let calls = 0;
const server = await TestModelServer.start({
  respond: () =>
    ++calls <= STEPS
      ? { toolCalls: [{ name: 'bash', input: { command: 'true' } }] }
      : { text: 'done' },
});
try {
  const sandbox = await engine.create({ template: 'debian-13' });
  const model =
    PROVIDER === 'anthropic'
      ? 'claude-sonnet-4-5'
      : PROVIDER === 'openai'
        ? 'gpt-4o'
        : {
            provider: 'custom' as const,
            endpoint: `${server.url}/v1`,
            model: 'instant',
          };
  const agent = defineAgent({
    slug: 'bench',
    model,
    systemPrompt: 'Benchmark.',
    tools: ['bash'],
    maxSteps: STEPS + 1,
  });
  const stepAt: number[] = [];
  const toolMs: number[] = [];
  const t0 = performance.now();
  const result = await runAgent({
    agent,
    input: 'go',
    sandbox,
    // The custom endpoint is the test model server, on loopback.
    modelAccess: new ModelAccess({ endpointAllow: loopbackRanges }),
    env: {
      OPENAI_API_KEY: 'bench',
      OPENAI_BASE_URL: `${server.url}/v1`,
      ANTHROPIC_API_KEY: 'bench',
      ANTHROPIC_BASE_URL: `${server.url}/v1`,
    },
    onEvent: (e) => {
      if (e.type === 'step') stepAt.push(performance.now());
      if (e.type === 'tool_result') toolMs.push(e.durationMs);
    },
  });
  const total = performance.now() - t0;
  if (result.outcome !== 'completed')
    throw new Error(`run ended ${result.outcome}: ${result.error?.message}`);
  const per = stepAt
    .slice(1)
    .map((t, i) => t - (stepAt[i] as number))
    .sort((a, b) => a - b);
  const q = (p: number) => per[Math.min(per.length - 1, Math.ceil(p * per.length) - 1)] as number;
  const tools = [...toolMs].sort((a, b) => a - b);
  console.log(
    `# npm run bench:agent  PROVIDER=${PROVIDER} STEPS=${STEPS}  ${new Date().toISOString()}`,
  );
  console.log('| metric | p50 | p99 | mean |');
  console.log('|---|---|---|---|');
  console.log(
    `| step (model call + tool + events) | ${q(0.5).toFixed(2)} ms | ${q(0.99).toFixed(2)} ms | ${(total / result.steps).toFixed(2)} ms |`,
  );
  console.log(
    `| tool (bash \`true\` in the sandbox) | ${tools[Math.floor(tools.length / 2)]?.toFixed(2)} ms | ${tools[Math.ceil(tools.length * 0.99) - 1]?.toFixed(2)} ms | - |`,
  );
  await sandbox.delete();
} finally {
  await server.close();
  await engine.close();
  await rm(dataDir, { recursive: true, force: true });
}
