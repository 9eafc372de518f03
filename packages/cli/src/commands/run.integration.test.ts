import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor as waitUntil } from '@runtools/sandbox/testing';
import type { RunEvent } from '@runtools/sdk';
import {
  CliProcess,
  type CliServer,
  hasEscapeCodes,
  runCli,
  startCliServer,
} from '../testing/remote-cli-fixture.ts';

const waitFor = <T>(fn: () => Promise<T | undefined | false>, ms = 60_000) =>
  waitUntil(fn, { timeoutMs: ms, intervalMs: 50 });

describe('runtools run (the CLI as a child process, a real server and sandboxes)', () => {
  let cp: CliServer;

  before(async () => {
    cp = await startCliServer();
    await cp.deployScriptedAgent('helper');
  });
  after(async () => {
    await cp?.[Symbol.asyncDispose]();
  });

  it('shows the tool call with its input, the tool output and the answer; exit 0', async () => {
    cp.model.push(
      {
        reasoning: 'I should look around first.',
        toolCalls: [{ name: 'bash', input: { command: 'echo hello-from-sandbox' } }],
      },
      { text: 'The sandbox said hello.' },
    );
    const result = await runCli(['run', 'helper', 'say hello'], { env: cp.env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /thinking: I should look around first\./);
    assert.match(result.stdout, /▸ bash command="echo hello-from-sandbox"/);
    assert.match(result.stdout, /⎿ hello-from-sandbox/);
    assert.match(result.stdout, /The sandbox said hello\.\n/);
    assert.match(result.stdout, /✔ completed/);
    assert.match(result.stderr, /run run_\w+/);
    // Piped output: no colours, no cursor movement.
    assert.equal(hasEscapeCodes(result.stdout + result.stderr), false);
  });

  it('cuts a long tool result to a few lines and says how many it left out', async () => {
    cp.model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'seq 1 50' } }] },
      { text: 'Counted.' },
    );
    const result = await runCli(['run', 'helper', 'count'], { env: cp.env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /⎿ 1 /);
    assert.match(result.stdout, /^ {4}6\n {4}… \d+ more lines\n/m);
    assert.doesNotMatch(result.stdout, /^ {4}7$/m);
  });

  it('--json prints one parseable event per line and nothing else on stdout', async () => {
    cp.model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'echo json' } }] },
      { text: 'JSON done.' },
    );
    const result = await runCli(['run', 'helper', 'json please', '--json'], { env: cp.env });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    const events = lines.map((line) => JSON.parse(line) as RunEvent);
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
    );
    assert.ok(events.some((e) => e.type === 'tool_call' && e.name === 'bash'));
    assert.deepEqual(events.at(-1)?.type === 'status' && events.at(-1), {
      ...events.at(-1),
      status: 'completed',
    });
    assert.equal(result.stderr, '');
  });

  it('reads the input from stdin with "-"', async () => {
    cp.model.push({ text: 'Got it.' });
    const result = await runCli(['run', 'helper', '-'], { env: cp.env, stdin: 'from stdin\n' });
    assert.equal(result.code, 0, result.stderr);
    const last = cp.model.requests.at(-1);
    assert.ok(last?.messages.some((m) => m.role === 'user' && m.text?.includes('from stdin')));
  });

  it('--async prints the run id and returns at once', async () => {
    cp.model.push({ text: 'Later.', delayMs: 300 });
    const result = await runCli(['run', 'helper', 'later', '--async'], { env: cp.env });
    assert.equal(result.code, 0, result.stderr);
    const runId = result.stdout.trim();
    assert.match(runId, /^run_\w+$/);
    const run = await waitFor(async () => {
      const r = await cp.rt.runs.get(runId);
      return r.status === 'completed' ? r : undefined;
    });
    assert.equal(run.id, runId);
  });

  it('exits 1 when the run fails, with the error shown', async () => {
    cp.model.push({ error: { status: 400, message: 'the model refuses' } });
    const result = await runCli(['run', 'helper', 'fail please'], { env: cp.env });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /✖ failed/);
  });

  it('exits 1 with the API error for an unknown slug', async () => {
    const result = await runCli(['run', 'nobody', 'hi'], { env: cp.env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /deployment_not_found/);
  });

  it('Ctrl-C cancels the run on the server, says so, and exits 1', async () => {
    cp.model.push({ toolCalls: [{ name: 'bash', input: { command: 'sleep 300' } }] });
    using cli = new CliProcess(['run', 'helper', 'wait a minute'], { env: cp.env });
    await cli.waitForOutput(/▸ bash command="sleep 300"/);
    const runId = /run (run_\w+)/.exec(cli.stderr)?.[1];
    assert.ok(runId, cli.stderr);
    const started = performance.now();
    cli.child.kill('SIGINT');
    const result = await cli.exited;
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, new RegExp(`Cancelling run ${runId}`));
    assert.match(result.stdout, /■ cancelled/);
    // Not a speed claim: the sleep would end by itself after 300 s; ending well before that shows
    // the cancel cut it.
    assert.ok(performance.now() - started < 150_000, 'the sleep was not waited for');
    assert.equal((await cp.rt.runs.get(runId)).status, 'cancelled');
  });

  it('finds no server without flags, environment or runtools dev (exit 1, says what to do)', async () => {
    const result = await runCli(['run', 'helper', 'hi'], { cwd: '/' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /runtools dev/);
    assert.match(result.stderr, /--server/);
  });

  it('takes --server and --api-key flags over the environment', async () => {
    cp.model.push({ text: 'Flags work.' });
    const result = await runCli(
      ['run', 'helper', 'hi', '--server', cp.url, '--api-key', cp.apiKey],
      { env: { RUNTOOLS_SERVER: 'http://127.0.0.1:1', RUNTOOLS_API_KEY: 'wrong-key-wrong-key' } },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Flags work\./);
  });

  it('a wrong API key is an unauthorized error (exit 1)', async () => {
    const result = await runCli(['run', 'helper', 'hi'], {
      env: { ...cp.env, RUNTOOLS_API_KEY: 'not-the-key-at-all' },
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /unauthorized/);
  });
});
