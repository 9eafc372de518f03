import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasEscapeCodes, runCli } from '../testing/remote-cli-fixture.ts';

interface Check {
  name: string;
  found: boolean;
  works: boolean;
  optional?: boolean;
  fix?: string;
}

describe('runtools doctor (the CLI as a child process, on this host)', () => {
  it('lists every prerequisite with its state; the exit code says whether a required one fails', async () => {
    const json = await runCli(['doctor', '--json']);
    const checks = JSON.parse(json.stdout) as Check[];
    for (const name of ['node', 'runc', 'criu', 'cgroups', 'supervisor']) {
      assert.ok(
        checks.some((c) => c.name === name),
        name,
      );
    }
    const failing = checks.filter((c) => !c.optional && !(c.found && c.works));
    assert.equal(json.code, failing.length === 0 ? 0 : 1);

    const plain = await runCli(['doctor']);
    assert.equal(plain.code, json.code);
    assert.match(plain.stdout, /^CHECK\s+STATUS\s+VERSION\s+DETAIL$/m);
    assert.match(plain.stdout, /^runc\s+(ok|FAILED|MISSING)\s/m);
    assert.match(plain.stdout, /^doctor: /m);
    assert.equal(hasEscapeCodes(plain.stdout), false);
  });

  it('with the tools out of reach: MISSING, the command that fixes it, and exit 1', async () => {
    // The runc setup installs is found by its path, not PATH: RUNTOOLS_RUNC points elsewhere.
    const result = await runCli(['doctor'], {
      env: { PATH: '/nonexistent', RUNTOOLS_RUNC: 'runc' },
    });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /^runc\s+MISSING\s/m);
    assert.match(result.stdout, /^\s+fix: \S+/m);
    assert.match(result.stdout, /required check\(s\) failed: .*runc/);
  });
});
