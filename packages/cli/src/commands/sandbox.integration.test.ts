import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ExecResult, Sandbox } from '@runtools/sdk';
import {
  type CliServer,
  hasEscapeCodes,
  runCli,
  startCliServer,
} from '../testing/remote-cli-fixture.ts';

describe('runtools sandbox (the CLI as a child process, a real server and sandboxes)', () => {
  let cp: CliServer;
  let id: string;

  before(async () => {
    cp = await startCliServer();
  });
  after(async () => {
    await cp?.[Symbol.asyncDispose]();
  });

  it('create prints the new id; list shows it running', async () => {
    const created = await runCli(
      [
        'sandbox',
        'create',
        '--template',
        'debian-13',
        '-e',
        'GREETING=hi there',
        '--metadata',
        'owner=cli-test',
      ],
      { env: cp.env },
    );
    assert.equal(created.code, 0, created.stderr);
    id = created.stdout.trim();
    assert.match(id, /^sbx_\w+$/);
    const sandbox = await cp.rt.sandboxes.get(id);
    assert.equal(sandbox.metadata.owner, 'cli-test');

    const list = await runCli(['sandbox', 'list'], { env: cp.env });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^ID\s+TEMPLATE\s+STATE\s+CREATED\s+EXPIRES$/m);
    assert.match(list.stdout, new RegExp(`^${id}\\s+debian-13\\s+running\\s`, 'm'));
    assert.equal(hasEscapeCodes(list.stdout), false);
    const json = await runCli(['sandbox', 'list', '--json'], { env: cp.env });
    assert.deepEqual(
      (JSON.parse(json.stdout) as Sandbox[]).map((s) => s.id),
      [id],
    );
  });

  it('exec streams the output; a failing command exits 1 and says its exit code', async () => {
    const ok = await runCli(['sandbox', 'exec', id, 'echo "$GREETING"; echo to-stderr >&2'], {
      env: cp.env,
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'hi there\n');
    assert.equal(ok.stderr, 'to-stderr\n');
    const argv = await runCli(['sandbox', 'exec', id, '--', 'printf', '%s|', 'a b', 'c'], {
      env: cp.env,
    });
    assert.equal(argv.stdout, 'a b|c|');
    const failed = await runCli(['sandbox', 'exec', id, 'exit 3'], { env: cp.env });
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /command failed: exit code 3/);
    const json = await runCli(['sandbox', 'exec', id, '--json', 'echo json'], { env: cp.env });
    const result = JSON.parse(json.stdout) as ExecResult;
    assert.equal(result.stdout, 'json\n');
    assert.equal(result.exitCode, 0);
  });

  it('pause and resume keep the processes and files', async () => {
    await runCli(['sandbox', 'exec', id, 'echo kept > /tmp/marker'], { env: cp.env });
    const paused = await runCli(['sandbox', 'pause', id], { env: cp.env });
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, new RegExp(`^${id}: paused \\(snapshot [\\d.]+ MiB\\)$`, 'm'));
    assert.equal((await cp.rt.sandboxes.get(id)).state, 'paused');
    const resumed = await runCli(['sandbox', 'resume', id], { env: cp.env });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.stdout, `${id}: running\n`);
    const cat = await runCli(['sandbox', 'exec', id, 'cat /tmp/marker'], { env: cp.env });
    assert.equal(cat.stdout, 'kept\n');
  });

  it('rm deletes it; a second rm is a no-op (deleting is idempotent); an unknown id fails', async () => {
    const removed = await runCli(['sandbox', 'rm', id], { env: cp.env });
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, `${id}: deleted\n`);
    const list = await runCli(['sandbox', 'list', '--json'], { env: cp.env });
    assert.deepEqual(JSON.parse(list.stdout), []);
    const again = await runCli(['sandbox', 'rm', id], { env: cp.env });
    assert.equal(again.code, 0, again.stderr);
    const unknown = await runCli(['sandbox', 'rm', 'sbx_0000000000000000'], { env: cp.env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /sandbox_not_found/);
  });

  it('refuses a bad KEY=VALUE (usage, exit 2)', async () => {
    const result = await runCli(['sandbox', 'create', '-e', 'NOEQUALS'], { env: cp.env });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /expected KEY=VALUE, got "NOEQUALS"/);
  });
});
