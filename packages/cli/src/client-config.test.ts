import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RunToolsError } from '@runtools/sdk';
import { findDevServer, resolveClientConfig } from './client-config.ts';
import { UsageError } from './usage-error.ts';

describe('client config: where a remote command finds its server and key', () => {
  const root = mkdtempSync(join(tmpdir(), 'runtools-client-config-'));
  const project = join(root, 'project');
  const nested = join(project, 'agents', 'deep');
  mkdirSync(nested, { recursive: true });
  mkdirSync(join(project, '.runtools'));
  const devFile = join(project, '.runtools', 'dev.json');
  const writeDev = (pid: number) =>
    writeFileSync(
      devFile,
      JSON.stringify({ url: 'http://127.0.0.1:4321', apiKey: 'dev-key-0123456789', pid }),
    );
  after(() => rmSync(root, { recursive: true, force: true }));

  it('takes the flags first', () => {
    writeDev(process.pid);
    const config = resolveClientConfig(
      { server: 'http://flag.example:1', apiKey: 'flag-key' },
      { RUNTOOLS_SERVER: 'http://env.example:2', RUNTOOLS_API_KEY: 'env-key' },
      nested,
    );
    assert.deepEqual(config, {
      baseUrl: 'http://flag.example:1',
      apiKey: 'flag-key',
      source: 'flags',
    });
  });

  it('then RUNTOOLS_SERVER (or RUNTOOLS_URL) and RUNTOOLS_API_KEY; a flag key completes them', () => {
    const env = { RUNTOOLS_URL: 'http://env.example:2', RUNTOOLS_API_KEY: 'env-key' };
    assert.deepEqual(resolveClientConfig({}, env, nested), {
      baseUrl: 'http://env.example:2',
      apiKey: 'env-key',
      source: 'environment',
    });
    assert.equal(resolveClientConfig({ apiKey: 'flag-key' }, env, nested).apiKey, 'flag-key');
  });

  it('then the nearest .runtools/dev.json of a running `runtools dev`, from a subfolder', () => {
    writeDev(process.pid);
    assert.deepEqual(resolveClientConfig({}, {}, nested), {
      baseUrl: 'http://127.0.0.1:4321',
      apiKey: 'dev-key-0123456789',
      source: 'dev',
      devFile,
    });
    // --server naming the dev server borrows its key.
    assert.equal(
      resolveClientConfig({ server: 'http://127.0.0.1:4321/' }, {}, nested).apiKey,
      'dev-key-0123456789',
    );
  });

  it('skips a dev.json whose process is gone', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    const pid = child.pid as number;
    await new Promise((resolve) => child.on('close', resolve));
    writeDev(pid);
    assert.equal(findDevServer(nested), undefined);
    assert.throws(
      () => resolveClientConfig({}, {}, nested),
      (error) => RunToolsError.isInstance(error) && error.code === 'no_server',
    );
  });

  it('without any server: no_server, telling to start runtools dev or pass --server', () => {
    rmSync(devFile, { force: true });
    assert.throws(
      () => resolveClientConfig({}, {}, nested),
      (error: unknown) =>
        RunToolsError.isInstance(error) &&
        /runtools dev/.test(error.message) &&
        /--server/.test(error.message),
    );
  });

  it('a server without a key, or a server that is not a URL, is a usage error', () => {
    assert.throws(
      () => resolveClientConfig({ server: 'http://elsewhere:1' }, {}, nested),
      (error) => error instanceof UsageError && /--api-key/.test(error.message),
    );
    assert.throws(
      () => resolveClientConfig({ server: 'localhost:3000', apiKey: 'k' }, {}, nested),
      (error) => error instanceof UsageError && /not an http\(s\) URL/.test(error.message),
    );
  });
});
