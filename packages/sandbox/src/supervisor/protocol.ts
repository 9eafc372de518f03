/**
 * Frame codec for rt-init's wire protocol (see native/PROTOCOL.md, the single reference for it).
 * Every frame is `u32 len | u8 type | payload`, little-endian; strings are `u32 n | bytes`.
 */

export const MAX_FRAME = 16 * 1024 * 1024;

export const Req = {
  SPAWN: 0x01,
  STDIN: 0x02,
  STDIN_CLOSE: 0x03,
  SIGNAL: 0x04,
  ATTACH: 0x05,
  DETACH: 0x06,
  LIST: 0x07,
  FORGET: 0x08,
  PING: 0x09,
  CONNECT: 0x0a,
  RESIZE: 0x0b,
  READ: 0x10,
  WRITE_OPEN: 0x11,
  WRITE_DATA: 0x12,
  WRITE_CLOSE: 0x13,
  STAT: 0x14,
  LISTDIR: 0x15,
  MKDIR: 0x16,
  REMOVE: 0x17,
  RENAME: 0x18,
} as const;

export const Rep = {
  SPAWNED: 0x81,
  OUT: 0x82,
  EXIT: 0x83,
  PROCS: 0x84,
  OK: 0x85,
  DATA: 0x86,
  STAT: 0x87,
  ENTRIES: 0x88,
  ERR: 0x8f,
} as const;

export const SpawnFlags = { KEEP_STDIN: 1, ATTACH: 2, MERGE_STDERR: 4, PTY: 8 } as const;
export const WriteFlags = { APPEND: 1, MKDIRS: 2, EXCL: 4 } as const;
export const UINT64_MAX = 0xffff_ffff_ffff_ffffn;

type Field =
  | { u8: number }
  | { u32: number }
  | { i32: number }
  | { u64: bigint }
  | { str: string | Uint8Array }
  | { strs: readonly string[] }
  | { bytes: Uint8Array };

/** Builds one frame from typed fields. */
export function encodeFrame(type: number, fields: readonly Field[]): Buffer {
  const parts: Buffer[] = [];
  let size = 1;
  const push = (b: Buffer) => {
    parts.push(b);
    size += b.length;
  };
  const u32 = (n: number) => {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(n >>> 0);
    push(b);
  };
  const str = (s: string | Uint8Array) => {
    const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s);
    u32(b.length);
    push(b);
  };
  for (const f of fields) {
    if ('u8' in f) push(Buffer.from([f.u8 & 0xff]));
    else if ('u32' in f) u32(f.u32);
    else if ('i32' in f) {
      const b = Buffer.allocUnsafe(4);
      b.writeInt32LE(f.i32);
      push(b);
    } else if ('u64' in f) {
      const b = Buffer.allocUnsafe(8);
      b.writeBigUInt64LE(f.u64);
      push(b);
    } else if ('str' in f) str(f.str);
    else if ('strs' in f) {
      u32(f.strs.length);
      for (const s of f.strs) str(s);
    } else push(Buffer.from(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength));
  }
  const head = Buffer.allocUnsafe(5);
  head.writeUInt32LE(size);
  head.writeUInt8(type, 4);
  return Buffer.concat([head, ...parts], size + 4);
}

/** Sequential reader over one frame's payload; throws RangeError on a short payload. */
export class FrameReader {
  private pos = 0;
  private readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }

  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.pos++);
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  bytesOf(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  str(): string {
    return this.bytesOf(this.u32()).toString('utf8');
  }
  rest(): Buffer {
    const v = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return v;
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError('short frame from rt-init');
  }
}

/**
 * Splits a byte stream into frames; `push` returns the complete frames seen so far, at most
 * `maxFrames` (a relay's first frame may be followed at once by raw bytes, not frames).
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(
    chunk: Buffer,
    maxFrames = Number.POSITIVE_INFINITY,
  ): Array<{ type: number; payload: Buffer }> {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Array<{ type: number; payload: Buffer }> = [];
    let buf = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    let off = 0;
    while (buf.length - off >= 4 && frames.length < maxFrames) {
      const len = buf.readUInt32LE(off);
      if (len < 1 || len > MAX_FRAME) throw new RangeError(`bad frame length ${len} from rt-init`);
      if (buf.length - off - 4 < len) break;
      frames.push({ type: buf.readUInt8(off + 4), payload: buf.subarray(off + 5, off + 4 + len) });
      off += 4 + len;
    }
    buf = buf.subarray(off);
    this.chunks = buf.length ? [buf] : [];
    this.buffered = buf.length;
    return frames;
  }

  /** Bytes received after the last complete frame (used when a connection turns into a relay). */
  takeRemainder(): Buffer {
    const rest = Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    return rest;
  }
}
