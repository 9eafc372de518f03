import { spawn } from 'node:child_process';
import { access, constants, open } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeFrame, FrameDecoder, FrameReader, Rep, Req } from '../../../supervisor/protocol.ts';
import { NATIVE_BUILD_FIX } from '../../native-build.ts';
import { firstLine } from '../../run-command.ts';
import type { PrerequisiteCheck } from '../prerequisite-check.ts';
import { withTempDir } from '../probe.ts';

/** True when an ELF file has no PT_INTERP program header (static, or static-pie). */
async function isStaticElf(path: string): Promise<boolean | undefined> {
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(64);
    await handle.read(header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46) return undefined; // "\x7fELF"
    const is64 = header[4] === 2;
    const le = header[5] === 1;
    const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const phoff = is64
      ? Number(le ? header.readBigUInt64LE(0x20) : header.readBigUInt64BE(0x20))
      : u32(header, 0x1c);
    const phentsize = u16(header, is64 ? 0x36 : 0x2a);
    const phnum = u16(header, is64 ? 0x38 : 0x2c);
    const table = Buffer.alloc(phentsize * phnum);
    await handle.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      if (u32(table, i * phentsize) === 3) return false; // PT_INTERP
    }
    return true;
  } finally {
    await handle.close();
  }
}

/** Sends PING and waits for OK with the same req id (see native/PROTOCOL.md). */
function pingOnce(socketPath: string, timeoutMs: number): Promise<void> {
  return new Promise((resolvePing, reject) => {
    const req = 0x7264_6f63; // "rdoc"
    const socket = connect(socketPath);
    const decoder = new FrameDecoder();
    let answered = false;
    const timer = setTimeout(() => socket.destroy(new Error('no reply to PING')), timeoutMs);
    socket.once('connect', () => socket.write(encodeFrame(Req.PING, [{ u32: req }])));
    socket.on('data', (chunk: Buffer) => {
      let frames: ReturnType<FrameDecoder['push']>;
      try {
        frames = decoder.push(chunk, 1);
      } catch (err) {
        socket.destroy(err as Error);
        return;
      }
      const [frame] = frames;
      if (frame === undefined) return;
      answered = frame.type === Rep.OK && new FrameReader(frame.payload).u32() === req;
      socket.destroy(
        answered ? undefined : new Error(`unexpected reply type 0x${frame.type.toString(16)}`),
      );
    });
    socket.once('error', reject);
    socket.once('close', () => {
      clearTimeout(timer);
      if (answered) resolvePing();
      else reject(new Error('rt-init closed the connection without answering PING'));
    });
  });
}

/** Starts rt-init on a socket in a temporary directory and checks that it answers PING. */
async function pingSupervisor(
  binary: string,
  timeoutMs = 3000,
): Promise<{ ok: boolean; detail: string }> {
  return withTempDir(async (dir) => {
    const socketPath = join(dir, 'sup.sock');
    const child = spawn(binary, ['--socket', socketPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (data: string) => {
      stderr += data;
    });
    let exited: string | undefined;
    const exit = new Promise<void>((resolveExit) => {
      child.once('error', (err) => {
        exited = err.message;
        resolveExit();
      });
      child.once('exit', (code, signal) => {
        exited = `exited (${signal ?? code})`;
        resolveExit();
      });
    });
    const started = performance.now();
    try {
      let lastError = '';
      while (performance.now() - started < timeoutMs) {
        if (exited) return { ok: false, detail: `rt-init ${exited}: ${firstLine(stderr)}` };
        try {
          await pingOnce(socketPath, timeoutMs);
          return {
            ok: true,
            detail: `answers PING in ${Math.round(performance.now() - started)} ms`,
          };
        } catch (err) {
          lastError = (err as Error).message;
          if (!/ENOENT|ECONNREFUSED/.test(lastError)) break;
          await sleep(20);
        }
      }
      return { ok: false, detail: `no answer to PING on ${socketPath}: ${lastError || 'timeout'}` };
    } finally {
      if (!exited) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exit;
        clearTimeout(killer);
      }
    }
  });
}

export async function checkSupervisor(binary: string): Promise<PrerequisiteCheck> {
  const fix = NATIVE_BUILD_FIX;
  try {
    await access(binary, constants.X_OK);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    const detail = `${binary} ${missing ? 'is not built' : 'is not executable'}`;
    return { name: 'supervisor', found: false, works: false, detail, fix };
  }
  // rt-init has no version option (see PROTOCOL.md); it must be static: it is bind-mounted into
  // every template, whatever libc (if any) the template has.
  const isStatic = await isStaticElf(binary).catch(() => undefined);
  if (isStatic !== true) {
    return {
      name: 'supervisor',
      found: true,
      works: false,
      detail: `${binary} is ${isStatic === false ? 'dynamically linked; it must be static' : 'not an ELF executable'}`,
      fix,
    };
  }
  const ping = await pingSupervisor(binary);
  return {
    name: 'supervisor',
    found: true,
    works: ping.ok,
    detail: `${binary} (static); ${ping.detail}`,
    ...(ping.ok ? {} : { fix }),
  };
}
