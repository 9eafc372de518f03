import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

const NODE = process.execPath;
const RUNTOOLS = resolve(import.meta.dirname, 'bin/runtools.ts');
/** A tmux server of this test's own: its sessions are pseudo-terminals a person would see. */
const SOCKET = `rt-init-test-${process.pid}`;

const tmux = (...args: string[]) =>
  execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });

/** What the terminal shows now. */
const screen = () => tmux('capture-pane', '-p', '-t', 'init');

async function waitForScreen(pattern: RegExp, ms = 60_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const text = screen();
    if (pattern.test(text)) return text;
    if (Date.now() > end) throw new Error(`the screen never showed ${pattern}:\n${text}`);
    await sleep(100);
  }
}

/** Runs `runtools ARGS` in a fresh 100x40 terminal in `cwd`; the shell prints EXIT=code after. */
function runInTerminal(cwd: string, args: string): void {
  try {
    tmux('kill-session', '-t', 'init');
  } catch {
    // the first session
  }
  tmux(
    'new-session',
    '-d',
    '-x',
    '100',
    '-y',
    '40',
    '-s',
    'init',
    `cd ${cwd} && env -u CI ${NODE} ${RUNTOOLS} ${args}; echo EXIT=$?; sleep 60`,
  );
}

describe('runtools init in a terminal (tmux)', () => {
  const work = mkdtempSync('/var/tmp/rt-cli-init-tty-');
  after(() => {
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('asks for the name and the model, then shows the files and the next steps', async () => {
    runInTerminal(work, 'init tty-project');
    await waitForScreen(/Project name[\s\S]*tty-project/);
    tmux('send-keys', '-t', 'init', 'Enter');
    await waitForScreen(/Model of the code-assistant agent[\s\S]*● auto/);
    // The last choice is the scripted demo model.
    tmux('send-keys', '-t', 'init', 'Up', 'Enter');
    const done = await waitForScreen(/EXIT=\d+/);
    assert.match(done, /EXIT=0/);
    assert.match(done, /\+ agents\/code-assistant\.ts/);
    assert.match(done, /cd tty-project/);
    assert.match(done, /runtools dev/);
    const agent = readFileSync(join(work, 'tty-project/agents/code-assistant.ts'), 'utf8');
    assert.match(agent, /model: 'scripted'/);
  });

  it('asks before overwriting, and writes nothing when the answer is no (exit 1)', async () => {
    runInTerminal(join(work, 'tty-project'), 'init --name other');
    await waitForScreen(/Model of the code-assistant agent/);
    tmux('send-keys', '-t', 'init', 'Enter');
    await waitForScreen(/Overwrite runtools\.config\.ts, agents\/code-assistant\.ts/);
    tmux('send-keys', '-t', 'init', 'Enter');
    const done = await waitForScreen(/EXIT=\d+/);
    assert.match(done, /Nothing was written/);
    assert.match(done, /EXIT=1/);
    const pkg = JSON.parse(readFileSync(join(work, 'tty-project/package.json'), 'utf8'));
    assert.equal(pkg.name, 'tty-project');
    assert.ok(existsSync(join(work, 'tty-project/runtools.config.ts')));
  });
});
