import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type CliServer, runCli, startCliServer } from '../testing/remote-cli-fixture.ts';

describe('runtools keys (the CLI as a child process, a real server)', () => {
  let cp: CliServer;

  before(async () => {
    cp = await startCliServer();
  });
  after(async () => {
    await cp?.[Symbol.asyncDispose]();
  });

  it('creates a scoped key that can do only what its scopes allow, lists it and revokes it', async () => {
    const created = await runCli(['keys', 'create', 'ci deployer', '--scope', 'deploy'], {
      env: cp.env,
    });
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();
    assert.match(key, /^rtk_/);
    assert.match(created.stderr, /Created key_\w+ \(deploy\)\. The key is shown this once/);

    const withKey = { ...cp.env, RUNTOOLS_API_KEY: key };
    const denied = await runCli(['runs', 'list'], { env: withKey });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /insufficient_scope|"run" scope/);
    const escalate = await runCli(['keys', 'create', 'more', '--scope', 'admin'], { env: withKey });
    assert.notEqual(escalate.code, 0);

    const restricted = await runCli(
      ['keys', 'create', 'web app', '--deployment', 'support-bot', '--json'],
      { env: cp.env },
    );
    assert.equal(restricted.code, 0, restricted.stderr);
    const json = JSON.parse(restricted.stdout) as { scopes: string[]; deployments: string[] };
    assert.deepEqual(json.scopes, ['run']);
    assert.deepEqual(json.deployments, ['support-bot']);

    const list = await runCli(['keys', 'list'], { env: cp.env });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /ci deployer\s+deploy\s/);
    assert.match(list.stdout, /web app\s+run on support-bot/);
    assert.ok(!list.stdout.includes(key), 'a listed key shows its prefix only');

    const id = /key_\w+/.exec(created.stderr)?.[0] as string;
    const revoked = await runCli(['keys', 'revoke', id], { env: cp.env });
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout, `${id} revoked\n`);
    const after = await runCli(['templates', 'list'], { env: withKey });
    assert.notEqual(after.code, 0);
    assert.match(after.stderr, /unknown or revoked/);

    const badScope = await runCli(['keys', 'create', 'x', '--scope', 'root'], { env: cp.env });
    assert.notEqual(badScope.code, 0);
    assert.match(badScope.stderr, /Allowed choices are admin, deploy, run, sandboxes/);
  });
});
