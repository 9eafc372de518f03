import { posix } from 'node:path';
import { Readable, Writable } from 'node:stream';
import type { ErrorCode } from '@runtools/sdk/api';
import { InvalidOptionsError, InvalidPathError, SandboxFileError } from './errors.ts';
import { SupervisorReplyError } from './supervisor/connection.ts';
import { Rep, Req, UINT64_MAX, WriteFlags } from './supervisor/protocol.ts';
import type { SupervisorSession } from './supervisor/session.ts';

export type FileType = 'file' | 'directory' | 'symlink' | 'other';

export interface FileInfo {
  path: string;
  type: FileType;
  size: number;
  mode: number;
  modifiedAt: Date;
  uid: number;
  gid: number;
  /** Target of a symlink (only for `stat(path, { followSymlinks: false })`). */
  linkTarget?: string;
}

export interface DirEntry {
  /** Absolute path inside the sandbox. */
  path: string;
  name: string;
  type: FileType;
  size: number;
  modifiedAt: Date;
  /** 1 for direct children of the listed directory. */
  depth: number;
}

export interface ReadOptions {
  /** Byte range. */
  offset?: number;
  length?: number;
}

export interface ReadLinesOptions {
  /** First line, 1-based (default 1). */
  fromLine?: number;
  /** Number of lines (default: to the end). */
  lines?: number;
}

export interface WriteOptions {
  mode?: number;
  append?: boolean;
  /** Create missing parent directories (default true). */
  createParents?: boolean;
  /** Fail if the file exists. */
  exclusive?: boolean;
}

export interface FilesContext {
  sandboxId: string;
  session: SupervisorSession;
  assertRunning(operation: string): void;
  defaultCwd(): string;
}

/** Directory inside every sandbox that belongs to the engine (rt-init and its socket). */
export const RESERVED_DIR = '/.rt';

/**
 * Files of one sandbox. Every operation runs in rt-init, inside the sandbox's mount namespace,
 * so paths and symlinks resolve against the sandbox root: a link to `/etc/shadow` names the
 * sandbox's own file, and no path can reach the host.
 */
export class SandboxFiles {
  private readonly ctx: FilesContext;

  constructor(ctx: FilesContext) {
    this.ctx = ctx;
  }

  /** Resolves `path` (absolute, or relative to the sandbox cwd) to a normalised absolute path. */
  resolve(path: string): string {
    if (typeof path !== 'string' || path.length === 0) {
      throw new InvalidPathError(String(path), 'a path must be a non-empty string');
    }
    if (path.includes('\0')) throw new InvalidPathError(path, 'it contains a NUL byte');
    const base = path.startsWith('/') ? '/' : this.ctx.defaultCwd();
    const parts: string[] = [];
    for (const part of `${base}/${path}`.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (parts.length === 0) throw new InvalidPathError(path, 'it leads outside the sandbox');
        parts.pop();
      } else parts.push(part);
    }
    const resolved = `/${parts.join('/')}`;
    if (resolved === RESERVED_DIR || resolved.startsWith(`${RESERVED_DIR}/`)) {
      throw new InvalidPathError(path, `${RESERVED_DIR} is reserved for the sandbox supervisor`);
    }
    return resolved;
  }

  /** Reads a file, or a byte range of it. */
  async read(path: string, options: ReadOptions = {}): Promise<Buffer> {
    const p = this.resolve(path);
    const offset = nonNegative(options.offset ?? 0, 'offset');
    const length =
      options.length === undefined ? UINT64_MAX : BigInt(nonNegative(options.length, 'length'));
    const chunks: Buffer[] = [];
    await this.call('read', p, Req.READ, [{ str: p }, { u64: BigInt(offset) }, { u64: length }], {
      onPart: (_t, r) => chunks.push(Buffer.from(r.rest())),
    });
    return Buffer.concat(chunks);
  }

  /** Reads a text file, or a range of its lines. */
  async readText(path: string, options: ReadLinesOptions = {}): Promise<string> {
    const text = (await this.read(path)).toString('utf8');
    if (options.fromLine === undefined && options.lines === undefined) return text;
    const from = Math.max(1, nonNegative(options.fromLine ?? 1, 'fromLine'));
    const lines = text.split('\n');
    const end = options.lines === undefined ? lines.length : from - 1 + options.lines;
    return lines.slice(from - 1, end).join('\n');
  }

  /** Writes (creates or truncates, or appends) a file. */
  async write(path: string, data: string | Uint8Array, options: WriteOptions = {}): Promise<void> {
    const w = await this.openWrite(path, options);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    for (let off = 0; off < bytes.length; off += 1 << 20) {
      await w.write(bytes.subarray(off, off + (1 << 20)));
    }
    await w.close();
  }

  /** A stream that writes a file (upload). */
  async createWriteStream(path: string, options: WriteOptions = {}): Promise<Writable> {
    const w = await this.openWrite(path, options);
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        w.write(chunk).then(() => cb(), cb);
      },
      final: (cb) => {
        w.close().then(() => cb(), cb);
      },
    });
  }

  /** A stream of a file's bytes (download). */
  createReadStream(path: string, options: ReadOptions = {}): Readable {
    const p = this.resolve(path);
    const stream = new Readable({ read() {} });
    const length =
      options.length === undefined ? UINT64_MAX : BigInt(nonNegative(options.length, 'length'));
    this.call(
      'read',
      p,
      Req.READ,
      [{ str: p }, { u64: BigInt(options.offset ?? 0) }, { u64: length }],
      {
        onPart: (_t, r) => stream.push(Buffer.from(r.rest())),
      },
    ).then(
      () => stream.push(null),
      (err) => stream.destroy(err as Error),
    );
    return stream;
  }

  async stat(path: string, options: { followSymlinks?: boolean } = {}): Promise<FileInfo> {
    const p = this.resolve(path);
    const { reader: r } = await this.call('stat', p, Req.STAT, [
      { str: p },
      { u8: options.followSymlinks === false ? 0 : 1 },
    ]);
    const mode = r.u32();
    const size = Number(r.u64());
    const mtime = Number(r.i64());
    const uid = r.u32();
    const gid = r.u32();
    const link = r.str();
    return {
      path: p,
      type: fileType(mode),
      size,
      mode: mode & 0o7777,
      modifiedAt: new Date(mtime),
      uid,
      gid,
      ...(link ? { linkTarget: link } : {}),
    };
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this.stat(path, { followSymlinks: false });
      return true;
    } catch (err) {
      if (err instanceof SandboxFileError && err.code === 'file_not_found') return false;
      throw err;
    }
  }

  /** Lists a directory; `depth` > 1 descends (not through symlinks). */
  async list(path: string, options: { depth?: number } = {}): Promise<DirEntry[]> {
    const p = this.resolve(path);
    const depth = options.depth ?? 1;
    if (!Number.isInteger(depth) || depth < 1 || depth > 64) {
      throw new InvalidOptionsError('depth must be an integer from 1 to 64.', { depth });
    }
    const entries: DirEntry[] = [];
    await this.call('list', p, Req.LISTDIR, [{ str: p }, { u32: depth }], {
      onPart: (_t, r) => {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const rel = r.str();
          const mode = r.u32();
          const size = Number(r.u64());
          const mtime = Number(r.i64());
          entries.push({
            path: posix.join(p, rel),
            name: posix.basename(rel),
            type: fileType(mode),
            size,
            modifiedAt: new Date(mtime),
            depth: rel.split('/').length,
          });
        }
      },
    });
    return entries;
  }

  async mkdir(path: string, options: { recursive?: boolean; mode?: number } = {}): Promise<void> {
    const p = this.resolve(path);
    await this.call('mkdir', p, Req.MKDIR, [
      { str: p },
      { u32: options.mode ?? 0o755 },
      { u8: options.recursive === false ? 0 : 1 },
    ]);
  }

  /** Removes a file, a symlink (never its target) or, with `recursive`, a directory tree. */
  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const p = this.resolve(path);
    if (p === '/') throw new InvalidPathError(path, 'the sandbox root cannot be removed');
    await this.call('remove', p, Req.REMOVE, [{ str: p }, { u8: options.recursive ? 1 : 0 }]);
  }

  async rename(from: string, to: string): Promise<void> {
    const a = this.resolve(from);
    const b = this.resolve(to);
    await this.call('rename', a, Req.RENAME, [{ str: a }, { str: b }]);
  }

  private async openWrite(path: string, options: WriteOptions) {
    const p = this.resolve(path);
    this.ctx.assertRunning('write files in');
    const conn = await this.ctx.session.connection();
    const req = conn.reserveReq();
    const flags =
      (options.append ? WriteFlags.APPEND : 0) |
      (options.createParents === false ? 0 : WriteFlags.MKDIRS) |
      (options.exclusive ? WriteFlags.EXCL : 0);
    try {
      await conn.requestWithReq(req, Req.WRITE_OPEN, [
        { str: p },
        { u32: options.mode ?? 0o644 },
        { u32: flags },
      ]);
    } catch (err) {
      throw mapFileError(err, 'write', p);
    }
    return {
      write: (chunk: Buffer) => conn.send(Req.WRITE_DATA, [{ u32: req }, { bytes: chunk }]),
      close: async () => {
        try {
          await conn.requestWithReq(req, Req.WRITE_CLOSE, []);
        } catch (err) {
          throw mapFileError(err, 'write', p);
        }
      },
    };
  }

  private async call(
    op: string,
    path: string,
    type: number,
    fields: Parameters<Awaited<ReturnType<SupervisorSession['connection']>>['request']>[1],
    hooks: Parameters<Awaited<ReturnType<SupervisorSession['connection']>>['request']>[2] = {},
  ) {
    this.ctx.assertRunning(`${op} files in`);
    const conn = await this.ctx.session.connection();
    try {
      const reply = await conn.request(type, fields, hooks);
      if (reply.type === Rep.ERR) throw new Error('unreachable');
      return reply;
    } catch (err) {
      throw mapFileError(err, op, path);
    }
  }
}

const ERRNO_CODES: Record<number, [ErrorCode, string]> = {
  2: ['file_not_found', 'No such file or directory'],
  13: ['permission_denied', 'Permission denied'],
  17: ['file_exists', 'File exists'],
  20: ['not_a_directory', 'Not a directory'],
  21: ['is_a_directory', 'Is a directory'],
  39: ['directory_not_empty', 'Directory not empty (use recursive)'],
  40: ['symlink_loop', 'Too many levels of symbolic links'],
  28: ['no_space', 'No space left on device'],
  30: ['read_only', 'Read-only file system'],
  36: ['name_too_long', 'File name too long'],
  16: ['busy', 'Device or resource busy (a mount point?)'],
  18: ['cross_device', 'Cannot rename across file systems'],
};

function mapFileError(err: unknown, op: string, path: string): unknown {
  if (!(err instanceof SupervisorReplyError)) return err;
  const [code, text] = ERRNO_CODES[err.errno] ?? ['file_error', err.message];
  return new SandboxFileError(code, `Cannot ${op} ${path}: ${text}.`, err.errno, path);
}

function fileType(mode: number): FileType {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'directory';
    case 0o120000:
      return 'symlink';
    default:
      return 'other';
  }
}

function nonNegative(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new InvalidOptionsError(`${name} must be a non-negative integer.`, { [name]: n });
  }
  return n;
}
