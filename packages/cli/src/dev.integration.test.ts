import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestModelServer } from '@runtools/agent/testing';
import { findRunc, SandboxEngine } from '@runtools/sandbox';
import { RunTools } from '@runtools/sdk';
import { devEngineDataDir, SHARED_TEMPLATES_DIR } from './dev/dev-server.ts';

const NODE = process.execPath;
const RUNTOOLS = resolve(import.meta.dirname, 'bin/runtools.ts');
const CREATE = resolve(import.meta.dirname, 'bin/create-runtools-app.ts');
const API_KEY = 'dev-test-key-0123456789abcdef';
/** A Dockerfile template of the test project; built into the shared templates dir, removed after. */
const GREETING = `rt-test-greeting-${process.pid}`;

/** Polls `check` until it returns a value (not undefined) or `ms` pass. */
async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  ms = 60_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** An environment without model keys: `model: 'auto'` is then the scripted model. */
function envWithoutModelKeys(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', RUNTOOLS_API_KEY: API_KEY };
  for (const name of Object.keys(env)) {
    if (/_(API_KEY|BASE_URL)$/.test(name) && name !== 'RUNTOOLS_API_KEY') delete env[name];
  }
  return env;
}

const echoAgent = (
  endpoint: string,
  prompt: string,
) => `import { defineAgent } from '@runtools/sdk';
export default defineAgent({
  slug: 'echo',
  model: { provider: 'custom', endpoint: '${endpoint}', model: 'llama-test' },
  systemPrompt: '${prompt}',
  tools: ['bash'],
  template: 'debian-13',
});
`;

describe('runtools dev (the real CLI as a child process, real sandboxes)', () => {
  const work = mkdtempSync('/var/tmp/rt-cli-dev-');
  const project = join(work, 'demo');
  let port: number;
  let child: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;
  let model: TestModelServer;
  let rt: RunTools;

  const waitForOutput = (pattern: RegExp, from = 0) =>
    until(`output matching ${pattern}`, async () =>
      pattern.test(output.slice(from)) ? true : undefined,
    );

  /**
   * Starts `runtools dev --port 0` in the project; its output accumulates in `output`. A port
   * picked beforehand could be taken by anyone between the pick and the bind: the server picks
   * its own, and `listening()` reads it from the banner.
   */
  const startDev = () => {
    output = '';
    child = spawn(NODE, [RUNTOOLS, 'dev', '--port', '0'], {
      cwd: project,
      env: envWithoutModelKeys(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    exited = new Promise((r) => child.on('exit', (code) => r(code)));
  };

  /** Waits for the banner of the dev server started last; points `port` and `rt` at it. */
  const listening = async () => {
    const banner = /POST http:\/\/127\.0\.0\.1:(\d+)\/v1\/run\//;
    await waitForOutput(banner);
    port = Number(banner.exec(output)?.[1]);
    rt = new RunTools({ apiKey: API_KEY, baseUrl: `http://127.0.0.1:${port}` });
  };

  before(async () => {
    const created = spawn(NODE, [CREATE, 'demo', '--yes'], { cwd: work, stdio: 'ignore' });
    assert.equal(await new Promise((r) => created.on('close', r)), 0);
    model = await TestModelServer.start();
    startDev();
    await listening();
  });
  after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await model?.close();
    // The project's sandboxes dir lives outside the project (see devEngineDataDir); a sandbox
    // left there (a failed test) holds mounts, so it goes through an engine first.
    if (existsSync(devEngineDataDir(project))) {
      const engine = await SandboxEngine.open({ dataDir: devEngineDataDir(project) });
      for (const s of engine.list()) await engine.delete(s.id).catch(() => {});
      await engine.close();
    }
    rmSync(devEngineDataDir(project), { recursive: true, force: true });
    rmSync(join(process.env.RUNTOOLS_TEMPLATES_DIR ?? SHARED_TEMPLATES_DIR, GREETING), {
      recursive: true,
      force: true,
    });
    rmSync(work, { recursive: true, force: true });
  });

  it('serves the scaffolded project: endpoints, curl line, dev.json (0600)', async () => {
    await waitForOutput(/POST http:\/\/127\.0\.0\.1:\d+\/v1\/run\/code-assistant/);
    assert.match(
      output,
      new RegExp(`WS {3}ws://127\\.0\\.0\\.1:${port}/v1/run/code-assistant/stream`),
    );
    assert.match(output, new RegExp(`http://127\\.0\\.0\\.1:${port}/dashboard`));
    assert.match(
      output,
      /curl -s .*\/v1\/run\/code-assistant -H "Authorization: Bearer \$RUNTOOLS_API_KEY"/,
    );
    assert.match(output, /auto → scripted demo model/);
    // It says that webhooks and model endpoints may use loopback here (and only here).
    assert.match(output, /Loopback +webhooks and custom model endpoints may use 127\.0\.0\.0\/8/);
    const file = join(project, '.runtools', 'dev.json');
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), {
      url: `http://127.0.0.1:${port}`,
      apiKey: API_KEY,
      pid: child.pid,
    });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(existsSync(join(project, '.runtools', 'runtools.db')), 'SQLite in .runtools/');
    // A second `runtools dev` in the project is refused, naming the running one.
    const second = spawn(NODE, [RUNTOOLS, 'dev', '--port', '0'], {
      cwd: project,
      env: envWithoutModelKeys(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    second.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    assert.equal(await new Promise((r) => second.on('close', r)), 1);
    assert.match(
      stderr,
      new RegExp(
        `already serves this project at http://127\\.0\\.0\\.1:${port} \\(pid ${child.pid}\\)`,
      ),
    );
    // Outside a project it is a usage error.
    const outside = spawn(NODE, [RUNTOOLS, 'dev'], { cwd: work, stdio: 'ignore' });
    assert.equal(await new Promise((r) => outside.on('close', r)), 2);
  });

  it('POST /v1/run/code-assistant completes with the scripted model, through a tool call', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/v1/run/code-assistant`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'List the files in the working directory' }),
    });
    // 200 with the finished run, or 202 with its id once the server's wait limit (60 s) passes:
    // that is a deadline of the API, which a loaded machine building a template on first use can
    // reach. Either way the run goes on to completion.
    assert.ok([200, 202].includes(response.status), `status ${response.status}`);
    const body = (await response.json()) as { runId: string };
    await until(
      'the run to end',
      async () => {
        const status = (await rt.runs.get(body.runId)).status;
        return ['completed', 'failed', 'cancelled'].includes(status) ? status : undefined;
      },
      240_000,
    );
    const got = await rt.runs.get(body.runId);
    const run = { ...got, runId: body.runId, output: got.output as { text: string } };
    assert.equal(run.status, 'completed', JSON.stringify(run));
    assert.match(run.output.text, /scripted demo model/);
    assert.match(run.output.text, /total \d+/, 'the answer quotes `ls -la`');
    const events = await rt.runs.events(run.runId);
    const call = events.find((e) => e.type === 'tool_call');
    assert.ok(call?.type === 'tool_call');
    assert.equal(call.name, 'bash');
    assert.deepEqual(call.input, { command: 'ls -la' });
    assert.ok(events.some((e) => e.type === 'tool_result'));
    await waitForOutput(new RegExp(`${run.runId} completed`));
  });

  it('picks up a new agent file (a custom OpenAI-compatible endpoint) without a restart', async () => {
    writeFileSync(
      join(project, 'agents', 'echo.ts'),
      echoAgent(`${model.url}/v1`, 'First prompt.'),
    );
    const deployment = await until('the echo deployment', async () =>
      (await rt.deployments.list()).data.find((d) => d.apiSlug === 'echo'),
    );
    assert.equal(deployment.template, 'debian-13');
    model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'echo hi-from-the-sandbox' } }] },
      { text: 'The sandbox said hi.' },
    );
    const result = await rt.run('echo', 'Say hi from the sandbox');
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    assert.equal((result.output as { text: string }).text, 'The sandbox said hi.');
    const toolResult = model.requests.at(-1)?.messages.find((m) => m.role === 'tool');
    assert.match(toolResult?.toolResult?.content ?? '', /hi-from-the-sandbox/);
    assert.equal(model.requests.at(-1)?.messages[0]?.text, 'First prompt.');
  });

  it('deploys an edit of the agent file as a new runtime version', async () => {
    writeFileSync(
      join(project, 'agents', 'echo.ts'),
      echoAgent(`${model.url}/v1`, 'Second prompt.'),
    );
    const v2 = await until('runtime echo v2', async () =>
      (await rt.runtimes.list({ slug: 'echo' })).data.find((r) => r.version === 2),
    );
    await until('the deployment on v2', async () =>
      (await rt.deployments.list()).data.find((d) => d.apiSlug === 'echo' && d.runtimeId === v2.id),
    );
    model.push({ text: 'Edited.' });
    const result = await rt.run('echo', 'again');
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    assert.equal(model.requests.at(-1)?.messages[0]?.text, 'Second prompt.');
  });

  it('reports a broken edit (file and field) and keeps serving the last good version', async () => {
    const from = output.length;
    writeFileSync(
      join(project, 'agents', 'echo.ts'),
      "import { defineAgent } from '@runtools/sdk';\nexport default defineAgent({ slug: 'echo', model: 'auto', systemPrompt: '' });\n",
    );
    await waitForOutput(/agents\/echo\.ts: field "systemPrompt"/, from);
    assert.match(output.slice(from), /last good version keeps serving/);
    writeFileSync(join(project, 'agents', 'echo.ts'), 'export default defineAgent({ oops\n');
    await waitForOutput(/agents\/echo\.ts: SyntaxError/, from);
    const versions = (await rt.runtimes.list({ slug: 'echo' })).data.map((r) => r.version);
    assert.deepEqual(versions, [2, 1], 'no new version from a broken file');
    model.push({ text: 'Still here.' });
    const result = await rt.run('echo', 'are you there?');
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    assert.equal(model.requests.at(-1)?.messages[0]?.text, 'Second prompt.');
  });

  it('builds a templates/NAME/Dockerfile added while it runs, and serves an agent on it', async () => {
    mkdirSync(join(project, 'templates', GREETING));
    writeFileSync(
      join(project, 'templates', GREETING, 'Dockerfile'),
      'FROM debian-13\nRUN echo hello-from-the-template > /greeting.txt\n',
    );
    writeFileSync(
      join(project, 'agents', 'greeter.ts'),
      `import { defineAgent } from '@runtools/sdk';\nexport default defineAgent({ slug: 'greeter', model: 'scripted', systemPrompt: 'Greet.', tools: ['read_file'], template: '${GREETING}' });\n`,
    );
    await until(
      'the greeter deployment',
      async () => (await rt.deployments.list()).data.find((d) => d.apiSlug === 'greeter'),
      60_000,
    );
    assert.match(output, new RegExp(`template ${GREETING}: ready`));
    const result = await rt.run('greeter', 'What is in /greeting.txt?');
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    assert.match((result.output as { text: string }).text, /hello-from-the-template/);
  });

  let apiSandbox: string;
  it('SIGTERM stops cleanly (exit 0), pauses the sandboxes made through the API, and removes dev.json', async () => {
    writeFileSync(
      join(project, 'agents', 'echo.ts'),
      echoAgent(`${model.url}/v1`, 'Second prompt.'),
    );
    await waitForOutput(/agents\/echo\.ts loads again/);
    // A process with state only in memory: what it prints after the restart proves it was
    // paused with its memory rather than stopped and started again.
    apiSandbox = (await rt.sandboxes.create({ template: 'debian-13' })).id;
    await rt.sandboxes.exec(apiSandbox, {
      command:
        'n=$(od -An -N4 -tu4 /dev/urandom | tr -d " "); echo $n > /tmp/n; while :; do echo $n > /tmp/live.new; mv /tmp/live.new /tmp/live; sleep 0.1; done',
      background: true,
    });
    await rt.sandboxes.exec(apiSandbox, {
      command: 'for i in $(seq 100); do [ -s /tmp/live ] && break; sleep 0.1; done',
    });
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(output, /Paused 1 sandbox \(memory kept on disk/);
    assert.match(output, /Stopped\./);
    assert.ok(!existsSync(join(project, '.runtools', 'dev.json')));
    const engineDir = devEngineDataDir(project);
    const containers = execFileSync(findRunc(), ['--root', join(engineDir, 'runc'), 'list', '-q'], {
      encoding: 'utf8',
    });
    assert.equal(containers.trim(), '', 'nothing of the project runs on the host');
  });

  it('a restart with no change deploys nothing new, and the runs of before are still there', async () => {
    const before = await Promise.all(
      ['code-assistant', 'echo'].map((slug) => rt.runtimes.list({ slug }).catch(() => undefined)),
    );
    assert.deepEqual(before, [undefined, undefined], 'the server is down');
    startDev();
    await listening();
    await waitForOutput(/POST http:\/\/127\.0\.0\.1:\d+\/v1\/run\/echo/);
    for (const [slug, versions] of [
      ['code-assistant', [1]],
      ['echo', [2, 1]],
      ['greeter', [1]],
    ] as const) {
      const stored = (await rt.runtimes.list({ slug })).data.map((r) => r.version);
      assert.deepEqual(stored, versions, slug);
    }
    assert.ok((await rt.runs.list()).data.length >= 4);
    // The sandbox paused by the stop is there, paused, and resumes with its memory.
    assert.equal((await rt.sandboxes.get(apiSandbox)).state, 'paused');
    await rt.sandboxes.resume(apiSandbox);
    // The loop is still there (it writes /tmp/live again) with the number it held in memory.
    const r = await rt.sandboxes.exec(apiSandbox, {
      command:
        'rm -f /tmp/live; for i in $(seq 100); do [ -s /tmp/live ] && break; sleep 0.1; done; cat /tmp/n /tmp/live',
    });
    const [n, answer] = r.stdout.trim().split('\n');
    assert.ok(n && n === answer, `the process kept its memory: ${r.stdout} ${r.stderr}`);
    await rt.sandboxes.delete(apiSandbox);
    child.kill('SIGINT');
    assert.equal(await exited, 0);
  });
});
