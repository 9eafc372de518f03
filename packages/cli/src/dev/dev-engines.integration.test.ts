import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findRunc, SandboxEngine } from '@runtools/sandbox';
import { TEST_TEMPLATES_DIR } from '@runtools/sandbox/testing';
import { runCli } from '../testing/remote-cli-fixture.ts';
import { listDevEngines, pruneDevEngines, writeEngineOwner } from './dev-engines.ts';

/** The process exists and is not a zombie (an orphaned container init may stay one briefly). */
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
};

describe('runtools sandbox prune', () => {
  const work = mkdtempSync('/var/tmp/rt-prune-');
  chmodSync(work, 0o711); // sandbox uids traverse it to their roots
  const engines = join(work, 'dev');
  const kept = join(work, 'kept-project');
  const gone = join(work, 'gone-project');
  const busy = join(work, 'busy-project');
  let sandboxPid = 0;
  let holder: ChildProcess;

  before(async () => {
    mkdirSync(kept);
    mkdirSync(engines);
    for (const name of ['kept', 'gone', 'busy', 'unknown']) mkdirSync(join(engines, name));
    writeEngineOwner(join(engines, 'kept'), kept);
    writeEngineOwner(join(engines, 'gone'), gone);
    writeEngineOwner(join(engines, 'busy'), busy);
    // A project whose engine left a sandbox running when it stopped, then the folder was deleted.
    const engine = await SandboxEngine.open({
      dataDir: join(engines, 'gone'),
      templatesDir: TEST_TEMPLATES_DIR,
    });
    const sbx = await engine.create({ template: 'debian-13' });
    const state = execFileSync(
      findRunc(),
      ['--root', join(engines, 'gone', 'runc'), 'state', sbx.id],
      { encoding: 'utf8' },
    );
    sandboxPid = (JSON.parse(state) as { pid: number }).pid;
    assert.ok(alive(sandboxPid));
    await engine.close();
    // Another engine directory held by a live process (its lock names that process).
    holder = spawn('sleep', ['600'], { stdio: 'ignore' });
    writeFileSync(join(engines, 'busy', 'engine.lock'), String(holder.pid));
  });
  after(() => {
    holder?.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  });

  it('--dry-run says what it would remove and touches nothing', async () => {
    const outcomes = await pruneDevEngines(engines, { dryRun: true });
    const by = new Map(outcomes.map((o) => [o.dir.split('/').pop(), o]));
    assert.equal(by.get('gone')?.action, 'would remove');
    assert.equal(by.get('gone')?.sandboxes, 1);
    assert.equal(by.get('kept')?.action, 'kept');
    assert.equal(by.get('unknown')?.action, 'kept');
    assert.equal(by.get('busy')?.action, 'kept');
    assert.match(by.get('busy')?.reason ?? '', /a running process uses it/);
    assert.ok(existsSync(join(engines, 'gone', 'sandboxes')));
    // The sandbox is still listed by a fresh look, still running.
    assert.equal(listDevEngines(engines).length, 4);
  });

  it('removes the sandboxes and the directory of a project that is gone, and keeps the rest', async () => {
    const before = await SandboxEngine.open({
      dataDir: join(engines, 'gone'),
      templatesDir: TEST_TEMPLATES_DIR,
    });
    const [running] = before.list();
    assert.equal(running?.state, 'running', 'the sandbox outlived its engine');
    await before.close();

    const r = await runCli(['sandbox', 'prune', '--dir', engines]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`removed +project ${gone} .*1 sandbox\\): the project is gone`),
    );
    assert.match(r.stdout, new RegExp(`kept +project ${kept}: the project is there`));
    assert.match(r.stdout, new RegExp(`kept +project ${busy}: a running process uses it`));
    assert.match(r.stdout, /kept +.*unknown: it names no project/);
    assert.ok(!existsSync(join(engines, 'gone')));
    for (const name of ['kept', 'busy', 'unknown']) assert.ok(existsSync(join(engines, name)));
    assert.ok(!alive(sandboxPid), 'the sandbox processes are gone');
  });
});
