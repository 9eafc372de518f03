import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { devEngineDataDir } from './dev/dev-server.ts';
import { CliProcess, hasEscapeCodes, runCli } from './testing/remote-cli-fixture.ts';

const createApp = resolve(import.meta.dirname, 'bin/create-runtools-app.ts');

/** Without model keys `runtools dev` serves the scripted demo model. */
function withoutModelKeys(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { NO_COLOR: '1' };
  for (const name of Object.keys(process.env)) {
    if (/_(API_KEY|BASE_URL)$/.test(name)) env[name] = undefined;
  }
  return env;
}

/**
 * The path of a new user: scaffold, `runtools dev` in one terminal, and the remote commands in
 * another with no flags and no environment: they find the dev server through .runtools/dev.json.
 */
describe('remote commands against `runtools dev` (found through .runtools/dev.json)', () => {
  const work = mkdtempSync('/var/tmp/rt-cli-dev-remote-');
  const project = join(work, 'demo');
  let dev: CliProcess;
  let runId: string;

  before(async () => {
    const result = spawnSync(process.execPath, [createApp, 'demo', '--yes'], { cwd: work });
    assert.equal(result.status, 0, String(result.stderr));
    dev = new CliProcess(['dev', '--port', '0'], { cwd: project, env: withoutModelKeys() });
    const devFile = join(project, '.runtools', 'dev.json');
    const deadline = Date.now() + 60_000;
    while (!existsSync(devFile)) {
      if (Date.now() > deadline || dev.child.exitCode !== null) {
        throw new Error(`runtools dev did not start:\n${dev.stdout}\n${dev.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    dev?.[Symbol.dispose]();
    await dev?.exited;
    rmSync(devEngineDataDir(project), { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('runtools run from a subfolder shows the tool call and the answer', async () => {
    const result = await runCli(
      ['run', 'code-assistant', 'List the files in the working directory'],
      {
        cwd: join(project, 'agents'),
      },
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /▸ bash command="ls -la"/);
    assert.match(result.stdout, /⎿ total \d+/);
    assert.match(result.stdout, /scripted demo model/);
    assert.match(result.stdout, /✔ completed/);
    assert.equal(hasEscapeCodes(result.stdout + result.stderr), false);
    runId = /run (run_\w+)/.exec(result.stderr)?.[1] ?? '';
    assert.ok(runId, result.stderr);
  });

  it('runs list and logs see that run', async () => {
    const list = await runCli(['runs', 'list'], { cwd: project });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${runId}\\s+code-assistant\\s+completed\\s`, 'm'));
    const logs = await runCli(['logs', runId], { cwd: project });
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /▸ bash command="ls -la"/);
  });

  it('deploy to the dev server changes nothing: dev already synced the project the same way', async () => {
    const result = await runCli(['deploy'], { cwd: project });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /No changes/);
    assert.match(
      result.stdout,
      /code-assistant\s+POST http:\/\/127\.0\.0\.1:\d+\/v1\/run\/code-assistant/,
    );
  });

  it('once runtools dev has stopped, the commands say to start it (exit 1)', async () => {
    dev.child.kill('SIGTERM');
    await dev.exited;
    assert.equal(existsSync(join(project, '.runtools', 'dev.json')), false);
    const result = await runCli(['runs', 'list'], { cwd: project });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no_server[\s\S]*runtools dev/);
  });
});
