import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { readConfig } from './main.ts';

const run = promisify(execFile);

describe('main.ts configuration (production mode)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'runtools-main-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses a RUNTOOLS_API_KEY shorter than 32 characters, saying how to make one', () => {
    assert.throws(
      () => readConfig({ RUNTOOLS_API_KEY: 'a'.repeat(31) }),
      /RUNTOOLS_API_KEY: must be at least 32 characters; generate one with `openssl rand -base64 32`/,
    );
    assert.equal(readConfig({ RUNTOOLS_API_KEY: 'a'.repeat(32) }).RUNTOOLS_API_KEY, 'a'.repeat(32));
  });

  it('refuses a malformed RUNTOOLS_SECRET_KEY without echoing it', () => {
    assert.throws(
      () => readConfig({ RUNTOOLS_SECRET_KEY: 'hunter2-hunter2' }),
      (error: Error) => {
        assert.match(error.message, /RUNTOOLS_SECRET_KEY: must be 32 random bytes/);
        assert.equal(error.message.includes('hunter2'), false);
        return true;
      },
    );
    const key = randomBytes(32).toString('base64');
    assert.equal(readConfig({ RUNTOOLS_SECRET_KEY: key }).RUNTOOLS_SECRET_KEY, key);
  });

  it('reads the throttle of failed authentications and the trusted proxies', () => {
    const config = readConfig({
      RUNTOOLS_AUTH_THROTTLE: '5/30',
      RUNTOOLS_TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8',
    });
    assert.deepEqual(config.RUNTOOLS_AUTH_THROTTLE, { maxFailures: 5, windowMs: 30_000 });
    assert.deepEqual(config.RUNTOOLS_TRUSTED_PROXIES, ['127.0.0.1', '10.0.0.0/8']);
    assert.equal(readConfig({ RUNTOOLS_AUTH_THROTTLE: 'off' }).RUNTOOLS_AUTH_THROTTLE, false);
    assert.throws(() => readConfig({ RUNTOOLS_AUTH_THROTTLE: '0/60' }), /RUNTOOLS_AUTH_THROTTLE/);
    assert.throws(
      () => readConfig({ RUNTOOLS_TRUSTED_PROXIES: 'proxy.internal' }),
      /RUNTOOLS_TRUSTED_PROXIES: "proxy.internal" is not an IP address/,
    );
  });

  it('hands custom tools only the variables RUNTOOLS_TOOL_SECRETS names, never its own', () => {
    const config = readConfig({
      RUNTOOLS_TOOL_SECRETS: 'ORDERS_API_KEY, CRM_TOKEN,UNSET_ONE',
      ORDERS_API_KEY: 'sk-orders',
      CRM_TOKEN: 'crm',
      ANTHROPIC_API_KEY: 'sk-ant',
    });
    assert.deepEqual(config.toolSecrets, { ORDERS_API_KEY: 'sk-orders', CRM_TOKEN: 'crm' });
    assert.deepEqual(readConfig({ ORDERS_API_KEY: 'sk-orders' }).toolSecrets, {});
    assert.throws(
      () => readConfig({ RUNTOOLS_TOOL_SECRETS: 'RUNTOOLS_SECRET_KEY,DATABASE_URL' }),
      /RUNTOOLS_TOOL_SECRETS/,
    );
  });

  it('exits at once with that message when started with a short key', async () => {
    const main = resolve(import.meta.dirname, 'main.ts');
    const result = await run(process.execPath, [main], {
      env: { ...process.env, RUNTOOLS_API_KEY: 'short-key', RUNTOOLS_DATA_DIR: dataDir },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(result.code, 1);
    assert.match(result.stderr, /invalid configuration/);
    assert.match(result.stderr, /at least 32 characters/);
    assert.equal(result.stderr.includes('short-key'), false);
  });

  it('exits with secret_key_required when given PostgreSQL and no secret key', async () => {
    const main = resolve(import.meta.dirname, 'main.ts');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: 'postgres://127.0.0.1:1/none',
      RUNTOOLS_DATA_DIR: dataDir,
    };
    delete env.RUNTOOLS_SECRET_KEY;
    delete env.RUNTOOLS_API_KEY;
    const result = await run(process.execPath, [main], { env }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(result.code, 1);
    assert.match(result.stderr, /"code":"secret_key_required"/);
    assert.match(result.stderr, /Set RUNTOOLS_SECRET_KEY/);
  });
});
