import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { RunToolsError } from '@runtools/sdk';

/** The key file's name in the data directory. */
export const secretKeyFileName = 'secret.key';

const howToGenerate = 'generate one with `openssl rand -base64 32`';

/**
 * A 32-byte key written as base64 (44 characters, `openssl rand -base64 32`; base64url and no
 * padding are accepted too) or hex (64 characters, `openssl rand -hex 32`). Anything else is a
 * `secret_key_invalid` naming `source` (never echoing the value).
 */
export function parseSecretKey(text: string, source: string): Buffer {
  const value = text.trim();
  if (/^[0-9a-f]{64}$/i.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) {
    const key = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === 32) return key;
  }
  throw new RunToolsError(
    'secret_key_invalid',
    `${source} must be 32 random bytes written as base64 (44 characters) or hex (64 characters); ${howToGenerate}.`,
    { details: { source } },
  );
}

export interface SecretKeyOptions {
  /** The key as configured (RUNTOOLS_SECRET_KEY: base64 or hex), or its bytes. */
  secretKey?: string | Uint8Array | undefined;
  /** Where `secret.key` is read from, and generated (with `generate`). */
  dataDir?: string | undefined;
  /**
   * Generate `secret.key` when there is neither a key nor a file: right for one server on its
   * own SQLite file, wrong for servers sharing PostgreSQL, which must all have the same key.
   */
  generate: boolean;
}

/** The key stored secrets are encrypted with, and where it came from (for messages). */
export interface SecretKey {
  key: Buffer;
  /** `RUNTOOLS_SECRET_KEY`, or the key file's path. */
  source: string;
  /** True when this call created the key file. */
  generated: boolean;
}

/**
 * Finds the secret key: the configured one, else `<dataDir>/secret.key`, else (with `generate`)
 * a new random key written to that file with mode 0600. The file is created atomically: written
 * under a temporary name, then hard-linked to `secret.key`, which fails if another process got
 * there first (whose key is then used), so two servers starting at once never end up with
 * different keys and no reader ever sees a half-written file.
 */
export function loadSecretKey(options: SecretKeyOptions): SecretKey {
  const { secretKey } = options;
  if (typeof secretKey === 'string' && secretKey !== '') {
    return {
      key: parseSecretKey(secretKey, 'RUNTOOLS_SECRET_KEY'),
      source: 'RUNTOOLS_SECRET_KEY',
      generated: false,
    };
  }
  if (secretKey instanceof Uint8Array) {
    if (secretKey.length !== 32) {
      throw new RunToolsError(
        'secret_key_invalid',
        `The secret key must be 32 bytes, got ${secretKey.length}.`,
      );
    }
    return { key: Buffer.from(secretKey), source: 'the secretKey option', generated: false };
  }
  if (options.dataDir === undefined) {
    throw required('this server has no data directory to keep a key file in');
  }
  const file = join(resolve(options.dataDir), secretKeyFileName);
  const existing = readKeyFile(file);
  if (existing !== undefined) return { key: existing, source: file, generated: false };
  if (!options.generate) {
    throw required(`there is no ${file}`);
  }
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, `${randomBytes(32).toString('base64')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  let generated = true;
  try {
    linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    generated = false;
  } finally {
    unlinkSync(temporary);
  }
  const key = readKeyFile(file);
  if (key === undefined) throw new Error(`${file} vanished while it was being created`);
  return { key, source: file, generated };
}

/** The key in `file`, or undefined when there is none; a file others may read is made 0600. */
function readKeyFile(file: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  return parseSecretKey(text, file);
}

function required(why: string): RunToolsError {
  return new RunToolsError(
    'secret_key_required',
    `Set RUNTOOLS_SECRET_KEY: servers sharing PostgreSQL must all encrypt stored secrets with the same key, and ${why}. Use the same value on every server (${howToGenerate}); keep it, as the stored secrets cannot be read without it.`,
  );
}
