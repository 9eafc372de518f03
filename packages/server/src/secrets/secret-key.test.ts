import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadSecretKey, parseSecretKey } from './secret-key.ts';

const run = promisify(execFile);

describe('the secret key (RUNTOOLS_SECRET_KEY or <dataDir>/secret.key)', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'runtools-secret-key-'));
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('reads 32 bytes as base64 (padded or not, base64url too) or hex', () => {
    const key = randomBytes(32);
    for (const text of [
      key.toString('base64'),
      key.toString('base64').replace(/=$/, ''),
      key.toString('base64url'),
      key.toString('hex'),
      ` ${key.toString('hex').toUpperCase()}\n`,
    ]) {
      assert.deepEqual(parseSecretKey(text, 'RUNTOOLS_SECRET_KEY'), key, text);
    }
  });

  it('refuses anything else with secret_key_invalid, saying how to make one and not echoing it', () => {
    for (const text of [
      'hunter2',
      randomBytes(16).toString('base64'),
      randomBytes(31).toString('hex'),
      randomBytes(33).toString('base64'),
      `${randomBytes(32).toString('hex')}x`,
    ]) {
      assert.throws(
        () => parseSecretKey(text, 'RUNTOOLS_SECRET_KEY'),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'secret_key_invalid');
          assert.match(error.message, /^RUNTOOLS_SECRET_KEY must be 32 random bytes/);
          assert.match(error.message, /openssl rand -base64 32/);
          assert.equal(error.message.includes(text), false);
          return true;
        },
      );
    }
  });

  it('generates the key file once, mode 0600, and reads it back', () => {
    const dataDir = tempDir();
    const first = loadSecretKey({ dataDir, generate: true });
    assert.equal(first.generated, true);
    assert.equal(first.source, join(dataDir, 'secret.key'));
    assert.equal(statSync(first.source).mode & 0o777, 0o600);
    assert.deepEqual(parseSecretKey(readFileSync(first.source, 'utf8'), 'file'), first.key);
    const again = loadSecretKey({ dataDir, generate: true });
    assert.equal(again.generated, false);
    assert.deepEqual(again.key, first.key);
  });

  it('gives every process starting at once the same generated key', async () => {
    const dataDir = tempDir();
    const script = `import { loadSecretKey } from ${JSON.stringify(join(import.meta.dirname, 'secret-key.ts'))};
      process.stdout.write(loadSecretKey({ dataDir: ${JSON.stringify(dataDir)}, generate: true }).key.toString('hex'));`;
    const outputs = await Promise.all(
      Array.from({ length: 6 }, () =>
        run(process.execPath, ['--input-type=module', '-e', script], { env: process.env }),
      ),
    );
    const keys = new Set(outputs.map((o) => o.stdout));
    assert.equal(keys.size, 1);
    assert.deepEqual(
      parseSecretKey(readFileSync(join(dataDir, 'secret.key'), 'utf8'), 'file').toString('hex'),
      [...keys][0],
    );
  });

  it('prefers RUNTOOLS_SECRET_KEY to the file, and makes a file others can read 0600', () => {
    const dataDir = tempDir();
    const fileKey = randomBytes(32);
    writeFileSync(join(dataDir, 'secret.key'), fileKey.toString('base64'), { mode: 0o644 });
    const envKey = randomBytes(32);
    const fromEnv = loadSecretKey({ secretKey: envKey.toString('hex'), dataDir, generate: true });
    assert.deepEqual(fromEnv.key, envKey);
    assert.equal(fromEnv.source, 'RUNTOOLS_SECRET_KEY');
    const fromFile = loadSecretKey({ dataDir, generate: false });
    assert.deepEqual(fromFile.key, fileKey);
    assert.equal(statSync(join(dataDir, 'secret.key')).mode & 0o777, 0o600);
  });

  it('never generates one for PostgreSQL: without a key or a file it is secret_key_required', () => {
    assert.throws(
      () => loadSecretKey({ dataDir: tempDir(), generate: false }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'secret_key_required');
        assert.match(error.message, /RUNTOOLS_SECRET_KEY/);
        assert.match(error.message, /openssl rand -base64 32/);
        return true;
      },
    );
  });

  it('refuses a malformed key file by its path', () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'secret.key'), 'not a key\n', { mode: 0o600 });
    assert.throws(() => loadSecretKey({ dataDir, generate: true }), {
      code: 'secret_key_invalid',
      message: new RegExp(`^${join(dataDir, 'secret.key')} must be 32 random bytes`),
    });
  });
});
