import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type CliServer, runCli, startCliServer } from '../testing/remote-cli-fixture.ts';

describe('runtools secrets and runtools tools (the CLI as a child process, a real server)', () => {
  let cp: CliServer;

  before(async () => {
    cp = await startCliServer();
  });
  after(async () => {
    await cp?.[Symbol.asyncDispose]();
  });

  it('sets a secret from stdin (never argv), lists it without its value, shows the catalog, removes it', async () => {
    const value = 'ghp_fromStdin0123456789abcdefghijklmn';
    const before = await runCli(['tools', 'list'], { env: cp.env });
    assert.equal(before.code, 0, before.stderr);
    assert.match(before.stdout, /github\s+integration\s+needs GITHUB_TOKEN/);
    assert.match(before.stdout, /github_create_issue/);
    assert.match(before.stderr, /runtools secrets set GITHUB_TOKEN/);

    const set = await runCli(['secrets', 'set', 'GITHUB_TOKEN'], {
      env: cp.env,
      stdin: `${value}\n`,
    });
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stderr, /GITHUB_TOKEN set \(server-wide\)/);
    const list = await runCli(['secrets', 'list'], { env: cp.env });
    assert.match(list.stdout, /GITHUB_TOKEN\s+server-wide/);
    const after = await runCli(['tools', 'list', '--json'], { env: cp.env });
    const github = (
      JSON.parse(after.stdout) as { integrations: Array<{ name: string; configured: boolean }> }
    ).integrations.find((i) => i.name === 'github');
    assert.equal(github?.configured, true);
    for (const r of [set, list, after]) assert.ok(!`${r.stdout}${r.stderr}`.includes(value));

    const empty = await runCli(['secrets', 'set', 'SLACK_BOT_TOKEN'], { env: cp.env, stdin: '' });
    assert.equal(empty.code, 2);
    const bad = await runCli(['secrets', 'set', 'lower'], { env: cp.env, stdin: 'x' });
    assert.equal(bad.code, 2);
    const rm = await runCli(['secrets', 'rm', 'GITHUB_TOKEN'], { env: cp.env });
    assert.equal(rm.code, 0, rm.stderr);
    const again = await runCli(['secrets', 'rm', 'GITHUB_TOKEN'], { env: cp.env });
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /secret_not_found|no secret GITHUB_TOKEN/);
  });
});
