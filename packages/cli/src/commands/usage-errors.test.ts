import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../testing/remote-cli-fixture.ts';

// Usage errors are found before any server is contacted: none is needed here.
describe('runtools usage errors (exit code 2, a message that helps)', () => {
  const env = { RUNTOOLS_SERVER: 'http://127.0.0.1:9', RUNTOOLS_API_KEY: 'unused-unused-unused' };

  it('an unknown command suggests the nearest one', async () => {
    const result = await runCli(['rnu', 'x'], { env });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown command 'rnu'/);
    assert.match(result.stderr, /Did you mean run\?/);
  });

  it('a missing argument names it and points at --help', async () => {
    const result = await runCli(['run', 'helper'], { env });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /missing required argument 'input'/);
    assert.match(result.stderr, /runtools run --help shows how to use it/);
    const logs = await runCli(['logs'], { env });
    assert.equal(logs.code, 2);
    assert.match(logs.stderr, /missing required argument 'run-id'/);
  });

  it('an unknown flag, or a bad flag value, is refused', async () => {
    const unknown = await runCli(['run', 'helper', 'hi', '--jsno'], { env });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option '--jsno'[\s\S]*Did you mean --json\?/);
    const bad = await runCli(['runs', 'list', '--limit', 'lots'], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /expected a whole number from 1 up, got "lots"/);
    const metadata = await runCli(['run', 'helper', 'hi', '--metadata', '[1]'], { env });
    assert.equal(metadata.code, 2);
    assert.match(metadata.stderr, /--metadata must be a JSON object/);
  });

  it('--server without a key anywhere is a usage error', async () => {
    const result = await runCli(['runs', 'list', '--server', 'http://127.0.0.1:9'], { cwd: '/' });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--api-key/);
  });

  it('--help works on every command and exits 0', async () => {
    for (const args of [
      ['--help'],
      ['run', '--help'],
      ['runs', 'list', '--help'],
      ['logs', '-h'],
    ]) {
      const result = await runCli(args, { env });
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stdout, /Usage: runtools/);
    }
  });
});
