import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  type CliServer,
  cliEntry,
  nodeBinary,
  startCliServer,
} from './testing/remote-cli-fixture.ts';

const exec = promisify(execFile);
const esc = '\u001b';

/**
 * What a person sees: the CLI runs in a pseudo-terminal (a tmux pane, 120×40) and the test reads
 * the screen. Each test gets its own session on a private tmux server, killed at the end.
 */
describe('runtools in a terminal (tmux)', () => {
  const socket = `rt-cli-pty-${process.pid}`;
  const tmux = (...args: string[]) => exec('tmux', ['-L', socket, ...args]);
  const dir = mkdtempSync(join(tmpdir(), 'runtools-cli-pty-'));
  let cp: CliServer;
  let sessions = 0;

  /** Starts `runtools ARGS` in a new pane; the shell prints its exit code when it ends. */
  const startInPane = async (args: string, env: Record<string, string> = {}) => {
    const name = `s${++sessions}`;
    const vars = Object.entries({ ...cp.env, ...env })
      .map(([k, v]) => `${k}='${v}'`)
      .join(' ');
    // What a person's terminal has: no CI=true (which turns live progress into plain lines).
    const command =
      `env -u NO_COLOR -u FORCE_COLOR -u NODE_TEST_CONTEXT -u CI ${vars} ` +
      `${nodeBinary} ${cliEntry} ${args}; echo "__EXIT=$?"; sleep 600`;
    await tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '40', '-c', dir, command);
    return name;
  };
  /** The pane's text; `escapes` keeps the colours and attributes as escape sequences. */
  const screen = async (name: string, escapes = false) =>
    (await tmux('capture-pane', '-p', '-t', name, ...(escapes ? ['-e'] : []))).stdout;
  const waitForScreen = async (name: string, pattern: RegExp, ms = 60_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const text = await screen(name);
      if (pattern.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`no ${pattern} on the screen:\n${text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    cp = await startCliServer();
    await cp.deployScriptedAgent('terminal');
  });
  after(async () => {
    await tmux('kill-server').catch(() => {});
    // tmux leaves its socket file behind.
    const socketDir = join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`);
    rmSync(join(socketDir, socket), { force: true });
    await cp?.[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });

  it('draws a run: dimmed reasoning, the tool call line, its output, the answer, in colour', async () => {
    cp.model.push(
      {
        reasoning: 'Listing the root first.',
        toolCalls: [{ name: 'bash', input: { command: 'echo seen-in-the-pane' } }],
      },
      { text: 'The pane shows the answer.' },
    );
    const name = await startInPane(`run terminal "what is there?"`);
    const text = await waitForScreen(name, /__EXIT=\d/);
    assert.match(text, /__EXIT=0/);
    const lines = text.split('\n');
    assert.ok(lines.includes('thinking: Listing the root first.'), text);
    assert.ok(lines.includes('▸ bash command="echo seen-in-the-pane"'), text);
    assert.ok(
      lines.some((l) => /^ {2}⎿ seen-in-the-pane \(\d+ms\)$/.test(l)),
      text,
    );
    assert.ok(lines.includes('The pane shows the answer.'), text);
    assert.ok(lines.includes('✔ completed'), text);
    const coloured = await screen(name, true);
    // tmux writes an attribute when it changes: what is on at a text is the last one set before it.
    const dimAt = (needle: string) => {
      const before = coloured.slice(0, coloured.indexOf(needle));
      return before.lastIndexOf(`${esc}[2m`) > before.lastIndexOf(`${esc}[0m`);
    };
    assert.ok(dimAt('thinking: Listing the root first.'), coloured);
    assert.ok(!dimAt('The pane shows the answer.'), coloured);
    assert.ok(coloured.includes(`${esc}[1mbash`), coloured);
    const green = coloured.slice(0, coloured.indexOf('✔ completed'));
    assert.ok(green.lastIndexOf(`${esc}[32m`) > green.lastIndexOf(`${esc}[0m`), coloured);
  });

  it('sandbox shell: a login shell in the pane that follows its size, runs top, ends with Ctrl-D', async () => {
    const sandbox = await cp.rt.sandboxes.create({ template: 'debian-13' });
    try {
      const name = await startInPane(`sandbox shell ${sandbox.id}`);
      // tmux trims the blank after the prompt.
      await waitForScreen(name, /[#$]$/m);
      await tmux('send-keys', '-t', name, 'stty size; tty', 'Enter');
      await waitForScreen(name, /^40 120$/m);
      await waitForScreen(name, /^\/dev\/pts\/\d+$/m);
      // The pane shrinks: SIGWINCH reaches the CLI, which resizes the sandbox's terminal.
      await tmux('resize-window', '-t', name, '-x', '100', '-y', '30');
      await tmux('send-keys', '-t', name, 'clear; stty size', 'Enter');
      await waitForScreen(name, /^30 100$/m);
      // A full-screen program owns the screen, then gives it back.
      await tmux('send-keys', '-t', name, 'top -d 0.5', 'Enter');
      await waitForScreen(name, /load average/);
      await tmux('send-keys', '-t', name, 'q');
      await tmux('send-keys', '-t', name, 'clear', 'Enter');
      await waitForScreen(name, /^\S*[#$]$/m);
      // Ctrl-C goes to the sandbox (raw mode), not to the CLI.
      await tmux('send-keys', '-t', name, 'sleep 100', 'Enter');
      await tmux('send-keys', '-t', name, 'C-c');
      await tmux('send-keys', '-t', name, 'echo after-interrupt', 'Enter');
      await waitForScreen(name, /^after-interrupt$/m);
      await tmux('send-keys', '-t', name, 'C-d');
      const text = await waitForScreen(name, /__EXIT=\d/);
      assert.match(text, /__EXIT=0/);
    } finally {
      await cp.rt.sandboxes.delete(sandbox.id);
    }
  });

  it('asks at the terminal when a tool call needs approval: y runs it, n denies it with a reason the agent reads', async () => {
    await cp.deployScriptedAgent('asking', { approvals: { bash: 'always' } });
    cp.model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'echo approved-in-the-pane' } }] },
      { toolCalls: [{ name: 'bash', input: { command: 'echo must-not-run' } }] },
      { text: 'One ran, one was refused.' },
    );
    const name = await startInPane(`run asking "two commands"`);
    await waitForScreen(name, /Allow bash command="echo approved-in-the-pane"\? \[y\/N\]/);
    await tmux('send-keys', '-t', name, 'y', 'Enter');
    await waitForScreen(name, /Allow bash command="echo must-not-run"\? \[y\/N\]/);
    await tmux('send-keys', '-t', name, 'n', 'Enter');
    await waitForScreen(name, /Why\?/);
    await tmux('send-keys', '-t', name, 'not today', 'Enter');
    const text = await waitForScreen(name, /__EXIT=\d/);
    assert.match(text, /__EXIT=0/);
    assert.match(text, /approved-in-the-pane/);
    assert.match(text, /denied: not today/);
    assert.match(text, /One ran, one was refused\./);
    assert.doesNotMatch(text.replace(/command="echo must-not-run"/g, ''), /must-not-run/);
    assert.match(JSON.stringify(cp.model.requests.at(-1)?.messages), /not today/);
  });

  it('NO_COLOR: the same screen without any colour', async () => {
    cp.model.push(
      { toolCalls: [{ name: 'bash', input: { command: 'echo plain' } }] },
      { text: 'Plain answer.' },
    );
    const name = await startInPane('run terminal "no colours"', { NO_COLOR: '1' });
    await waitForScreen(name, /__EXIT=0/);
    const coloured = await screen(name, true);
    assert.match(coloured, /▸ bash command="echo plain"/);
    assert.match(coloured, /Plain answer\./);
    assert.ok(!coloured.includes(`${esc}[`), coloured);
  });

  it('Ctrl-C in the terminal cancels the run on the server and exits 1', async () => {
    cp.model.push({ toolCalls: [{ name: 'bash', input: { command: 'sleep 60' } }] });
    const name = await startInPane('run terminal "take your time"');
    const shown = await waitForScreen(name, /▸ bash command="sleep 60"/);
    const runId = /run (run_\w+)/.exec(shown)?.[1];
    assert.ok(runId, shown);
    await tmux('send-keys', '-t', name, 'C-c');
    const text = await waitForScreen(name, /__EXIT=\d/);
    assert.match(text, /__EXIT=1/);
    assert.match(text, new RegExp(`Cancelling run ${runId}`));
    assert.match(text, /■ cancelled/);
    assert.equal((await cp.rt.runs.get(runId)).status, 'cancelled');
  });

  it('templates build shows a progress bar with the current step', async () => {
    const slug = `cli-pty-${process.pid}-${Date.now().toString(36)}`;
    const tpl = join(dir, slug);
    mkdirSync(tpl);
    writeFileSync(join(tpl, 'Dockerfile'), 'FROM debian-13\nRUN sleep 3\nRUN echo done\n');
    try {
      const name = await startInPane(`templates build ${tpl}`);
      // While `RUN sleep 3` runs: a bar of ━ and the step it is at.
      const during = await waitForScreen(name, /━+ template \S+: step 2\/3: RUN sleep 3/);
      assert.doesNotMatch(during, /__EXIT/);
      const text = await waitForScreen(name, /__EXIT=\d/);
      assert.match(text, /__EXIT=0/);
      assert.match(text, new RegExp(`◇ +template ${slug}: ready \\(version \\w+`));
    } finally {
      await cp.rt.templates.delete(slug).catch(() => {});
    }
  });
});
