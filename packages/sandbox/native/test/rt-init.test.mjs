// Standalone test of the rt-init binary against PROTOCOL.md. rt-init runs on the host (not as
// PID 1) with its socket in a temp dir. Only node:test, node:assert, node:net and
// node:child_process are used, so this runs on any Node >= 20 without installing anything.
//
//   node --test packages/sandbox/native/test/            (Node 20)
//   node --test packages/sandbox/native/test/*.test.mjs  (any version)

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

const NATIVE_DIR = new URL('..', import.meta.url).pathname;

// ---- protocol ----

const T = {
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
  READ: 0x10,
  WRITE_OPEN: 0x11,
  WRITE_DATA: 0x12,
  WRITE_CLOSE: 0x13,
  STAT: 0x14,
  LISTDIR: 0x15,
  MKDIR: 0x16,
  REMOVE: 0x17,
  RENAME: 0x18,
  SPAWNED: 0x81,
  OUT: 0x82,
  EXIT: 0x83,
  PROCS: 0x84,
  OK: 0x85,
  DATA: 0x86,
  STATR: 0x87,
  ENTRIES: 0x88,
  ERR: 0x8f,
};

const F_KEEP_STDIN = 1;
const F_ATTACH = 2;
const F_MERGE_STDERR = 4;
const W_APPEND = 1;
const W_MKDIRS = 2;
const W_EXCL = 4;

const E = {
  ENOENT: 2,
  ESRCH: 3,
  EBADF: 9,
  EBUSY: 16,
  EEXIST: 17,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENOTEMPTY: 39,
  ECONNREFUSED: 111,
};

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const ENV = ['PATH=/usr/local/bin:/usr/bin:/bin'];

const u8 = (v) => Buffer.from([v]);
const u32 = (v) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const u64 = (v) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};
const str = (s) => {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s);
  return Buffer.concat([u32(b.length), b]);
};
const strs = (list) => Buffer.concat([u32(list.length), ...list.map(str)]);

function frame(type, ...parts) {
  const payload = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head.writeUInt32LE(payload.length + 1);
  head[4] = type;
  return Buffer.concat([head, payload]);
}

function spawnPayload(req, argv, o = {}) {
  return Buffer.concat([
    u32(req),
    u32(o.timeout ?? 0),
    u32(o.flags ?? 0),
    u32(o.uid ?? 0),
    u32(o.gid ?? 0),
    str(o.cwd ?? ''),
    strs(argv),
    strs(o.env ?? ENV),
  ]);
}

// Decodes one frame's payload into a plain object.
function decode(type, p) {
  let o = 0;
  const r32 = () => {
    const v = p.readUInt32LE(o);
    o += 4;
    return v;
  };
  const ri32 = () => {
    const v = p.readInt32LE(o);
    o += 4;
    return v;
  };
  const r64 = () => {
    const v = Number(p.readBigUInt64LE(o));
    o += 8;
    return v;
  };
  const ri64 = () => {
    const v = Number(p.readBigInt64LE(o));
    o += 8;
    return v;
  };
  const rstr = () => {
    const n = r32();
    const s = p.subarray(o, o + n);
    o += n;
    return s;
  };
  const ru8 = () => p[o++];
  switch (type) {
    case T.SPAWNED:
      return { type, req: r32(), pid: r32() };
    case T.OUT:
      return { type, pid: r32(), stream: ru8(), offset: r64(), data: p.subarray(o) };
    case T.EXIT:
      return { type, pid: r32(), code: ri32(), signal: ri32(), timedOut: p[o] };
    case T.PROCS: {
      const req = r32();
      const n = r32();
      const procs = [];
      for (let i = 0; i < n; i++) {
        const pid = r32();
        const running = ru8();
        const code = ri32();
        const signal = ri32();
        const startedAt = r64();
        const outTotal = r64();
        const errTotal = r64();
        const argc = r32();
        const argv = [];
        for (let j = 0; j < argc; j++) argv.push(rstr().toString());
        procs.push({ pid, running, code, signal, startedAt, outTotal, errTotal, argv });
      }
      return { type, req, procs };
    }
    case T.OK:
      return { type, req: r32() };
    case T.DATA:
      return { type, req: r32(), data: p.subarray(4) };
    case T.STATR:
      return {
        type,
        req: r32(),
        mode: r32(),
        size: r64(),
        mtimeMs: ri64(),
        uid: r32(),
        gid: r32(),
        linkTarget: rstr().toString(),
      };
    case T.ENTRIES: {
      const req = r32();
      const n = r32();
      const entries = [];
      for (let i = 0; i < n; i++) {
        entries.push({ path: rstr().toString(), mode: r32(), size: r64(), mtimeMs: ri64() });
      }
      return { type, req, entries };
    }
    case T.ERR:
      return { type, req: r32(), errno: ri32(), message: rstr().toString() };
    default:
      return { type, payload: p };
  }
}

class Client {
  static connect(path, opts = {}) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ path, allowHalfOpen: !!opts.allowHalfOpen });
      sock.once('connect', () => resolve(new Client(sock)));
      sock.once('error', reject);
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.chunks = [];
    this.buffered = 0;
    this.frames = [];
    this.waiters = [];
    this.closed = false;
    this.raw = null; // after CONNECT's OK: received raw bytes
    this.rawEnded = false;
    this.nextReq = 1;
    sock.on('data', (d) => this.onData(d));
    sock.on('end', () => {
      this.rawEnded = true;
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => {});
  }

  onData(d) {
    if (this.raw) {
      this.raw.push(d);
      this.wake();
      return;
    }
    this.chunks.push(d);
    this.buffered += d.length;
    if (this.buffered < 4) return;
    let buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    let pos = 0;
    while (buf.length - pos >= 4) {
      const len = buf.readUInt32LE(pos);
      if (buf.length - pos - 4 < len) break;
      const type = buf[pos + 4];
      this.frames.push(decode(type, buf.subarray(pos + 5, pos + 4 + len)));
      pos += 4 + len;
      if (type === T.OK && this.switchToRawOnOk === this.frames.at(-1).req) {
        this.raw = [buf.subarray(pos)];
        pos = buf.length;
        break;
      }
    }
    buf = buf.subarray(pos);
    this.chunks = buf.length ? [buf] : [];
    this.buffered = buf.length;
    this.wake();
  }

  wake() {
    this.waiters = this.waiters.filter((w) => !w.check());
  }

  // Resolves with (and removes) the first received frame matching pred.
  next(pred, timeoutMs = 60000) {
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          const i = this.frames.findIndex(pred);
          if (i >= 0) {
            clearTimeout(w.timer);
            resolve(this.frames.splice(i, 1)[0]);
            return true;
          }
          if (this.closed) {
            clearTimeout(w.timer);
            reject(new Error('connection closed'));
            return true;
          }
          return false;
        },
      };
      if (w.check()) return;
      w.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timeout waiting for frame; have ${JSON.stringify(this.frames)}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  waitClosed(timeoutMs = 60000) {
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          if (!this.closed) return false;
          clearTimeout(w.timer);
          resolve();
          return true;
        },
      };
      if (w.check()) return;
      w.timer = setTimeout(() => reject(new Error('connection not closed')), timeoutMs);
      this.waiters.push(w);
    });
  }

  waitRaw(pred, timeoutMs = 60000) {
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          const data = Buffer.concat(this.raw ?? []);
          if (!pred(data, this.rawEnded)) return false;
          clearTimeout(w.timer);
          resolve(data);
          return true;
        },
      };
      if (w.check()) return;
      w.timer = setTimeout(() => reject(new Error('timeout waiting for raw data')), timeoutMs);
      this.waiters.push(w);
    });
  }

  send(type, ...parts) {
    this.sock.write(frame(type, ...parts));
  }

  reply(req, timeoutMs) {
    return this.next((f) => f.req === req && f.type !== T.DATA && f.type !== T.ENTRIES, timeoutMs);
  }

  async call(type, ...parts) {
    const req = this.nextReq++;
    this.send(type, u32(req), ...parts);
    return this.reply(req);
  }

  // A streamed reply (READ, LISTDIR): all DATA/ENTRIES frames, then the final OK or ERR.
  async stream(type, ...parts) {
    const req = this.nextReq++;
    this.send(type, u32(req), ...parts);
    const frames = [];
    for (;;) {
      const f = await this.next((x) => x.req === req);
      if (f.type === T.OK || f.type === T.ERR) return { frames, end: f };
      frames.push(f);
    }
  }

  async spawn(argv, o = {}) {
    const req = this.nextReq++;
    this.sock.write(frame(T.SPAWN, spawnPayload(req, argv, o)));
    return this.reply(req);
  }

  // Collects OUT for pid until EXIT, checking that offsets are contiguous per stream.
  async output(pid, start = { 1: 0, 2: 0 }, timeoutMs = 60000) {
    const parts = { 1: [], 2: [] };
    const next = { ...start };
    for (;;) {
      const f = await this.next(
        (x) => x.pid === pid && (x.type === T.OUT || x.type === T.EXIT),
        timeoutMs,
      );
      if (f.type === T.EXIT) {
        return { out: Buffer.concat(parts[1]), err: Buffer.concat(parts[2]), exit: f, next };
      }
      assert.equal(f.offset, next[f.stream], `stream ${f.stream} offset`);
      assert.ok(f.data.length <= 65536, 'OUT chunk at most 64 KiB');
      parts[f.stream].push(f.data);
      next[f.stream] += f.data.length;
    }
  }

  close() {
    this.sock.destroy();
  }
}

// ---- rt-init instances ----

let BIN;
const instances = new Set();
const clients = new Set();

async function connect(inst, opts) {
  const c = await Client.connect(inst.sock, opts);
  clients.add(c);
  return c;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startInit(args = []) {
  const dir = execFileSync('mktemp', ['-d', '/tmp/rt-init-test.XXXXXX']).toString().trim();
  const sock = `${dir}/sup.sock`;
  const proc = spawn(BIN, ['--socket', sock, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const inst = { dir, sock, proc, stderr: '', exited: null };
  proc.stderr.on('data', (d) => {
    inst.stderr += d;
  });
  inst.exitPromise = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      inst.exited = { code, signal };
      resolve(inst.exited);
    });
  });
  instances.add(inst);
  // Readiness as the host does it: connect and PING. The deadline only turns a start that never
  // comes into a failure; a loaded machine may take seconds to exec the binary.
  const end = Date.now() + 60000;
  for (;;) {
    try {
      const c = await Client.connect(sock);
      const req = c.nextReq++;
      c.send(T.PING, u32(req));
      await c.reply(req);
      c.close();
      return inst;
    } catch (e) {
      if (Date.now() > end || inst.exited) {
        throw new Error(`rt-init did not start: ${e} ${inst.stderr}`);
      }
      await sleep(20);
    }
  }
}

async function stopInit(inst) {
  if (!instances.has(inst)) return;
  instances.delete(inst);
  if (!inst.exited) {
    process.kill(inst.proc.pid, 'SIGTERM');
    const t = setTimeout(() => {
      if (!inst.exited) process.kill(inst.proc.pid, 'SIGKILL');
    }, 5000);
    await inst.exitPromise;
    clearTimeout(t);
  }
  execFileSync('rm', ['-rf', inst.dir]);
}

// A zombie counts as dead: once rt-init has exited, its killed children are reparented to
// the host's init, which may take its time to reap them.
function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = execFileSync('cat', [`/proc/${pid}/stat`], { stdio: 'pipe' }).toString();
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

async function waitDead(pid, timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > end) return false;
    await sleep(20);
  }
  return true;
}

// Gone entirely (not even a zombie): for processes in rt-init's tree, which it must reap.
async function waitGone(pid, timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    if (Date.now() > end) return false;
    await sleep(20);
  }
}

// Every member of process group `pgid` gone, zombies included (rt-init, the subreaper, must
// have reaped them): the group then no longer exists for kill(-pgid, …).
async function waitGroupGone(pgid, timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (groupMembers(pgid).length === 0) return true;
    if (Date.now() > end) return false;
    await sleep(20);
  }
}

// Polls LIST on `c` until the process `pid` matches `pred`; returns its entry.
async function waitListed(c, pid, pred, timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const p = (await c.call(T.LIST)).procs.find((x) => x.pid === pid);
    if (p && pred(p)) return p;
    if (Date.now() > end) throw new Error(`LIST never matched for ${pid}: ${JSON.stringify(p)}`);
    await sleep(20);
  }
}

function groupMembers(pgid) {
  const members = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // Fields after "(comm)": state ppid pgrp ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid) members.push(Number(name));
  }
  return members;
}

async function ping(inst) {
  const c = await connect(inst);
  const r = await c.call(T.PING);
  c.close();
  return r;
}

before(() => {
  const out = execFileSync('sh', [`${NATIVE_DIR}build.sh`])
    .toString()
    .trim()
    .split('\n');
  BIN = out.at(-1);
});

after(async () => {
  for (const c of clients) c.close();
  for (const inst of [...instances]) await stopInit(inst);
});

// ---- tests ----

describe('rt-init', () => {
  let inst;
  before(async () => {
    inst = await startInit();
  });
  after(async () => {
    await stopInit(inst);
  });

  describe('processes', () => {
    test('spawn, output, exit code, env and cwd', async () => {
      const c = await connect(inst);
      const s = await c.spawn(['sh', '-c', 'echo out; echo err >&2; exit 7'], { flags: F_ATTACH });
      assert.equal(s.type, T.SPAWNED);
      const r = await c.output(s.pid);
      assert.equal(r.out.toString(), 'out\n');
      assert.equal(r.err.toString(), 'err\n');
      assert.deepEqual(
        { code: r.exit.code, signal: r.exit.signal, timedOut: r.exit.timedOut },
        { code: 7, signal: 0, timedOut: 0 },
      );

      const k = await c.spawn(['sh', '-c', 'kill -9 $$'], { flags: F_ATTACH });
      const rk = await c.output(k.pid);
      assert.equal(rk.exit.code, -1);
      assert.equal(rk.exit.signal, 9);

      const m = await c.spawn(['sh', '-c', 'echo a; echo b >&2'], {
        flags: F_ATTACH | F_MERGE_STDERR,
      });
      const rm = await c.output(m.pid);
      assert.equal(rm.out.toString(), 'a\nb\n');
      assert.equal(rm.err.length, 0);

      const e = await c.spawn(['env'], { flags: F_ATTACH, env: ['FOO=bar', ...ENV] });
      const re = await c.output(e.pid);
      assert.deepEqual(re.out.toString().trim().split('\n').sort(), ['FOO=bar', ...ENV].sort());

      const p = await c.spawn(['pwd'], { flags: F_ATTACH, cwd: inst.dir });
      assert.equal((await c.output(p.pid)).out.toString(), `${inst.dir}\n`);

      // Without KEEP_STDIN, stdin is /dev/null.
      const n = await c.spawn(['cat'], { flags: F_ATTACH });
      const rn = await c.output(n.pid);
      assert.equal(rn.out.length, 0);
      assert.equal(rn.exit.code, 0);
      c.close();
    });

    test('EXIT does not wait for a background grandchild holding stdout', async () => {
      const c = await connect(inst);
      // The grandchild holds stdout until the test creates `go`: EXIT must come while it waits.
      const go = `${inst.dir}/grandchild-go`;
      const gcPid = `${inst.dir}/grandchild-pid`;
      const s = await c.spawn(
        [
          'sh',
          '-c',
          `(while [ ! -e ${go} ]; do sleep 0.02; done; echo late) & echo $! > ${gcPid}; echo now`,
        ],
        { flags: F_ATTACH },
      );
      const r = await c.output(s.pid);
      assert.equal(r.out.toString(), 'now\n');
      const grandchild = Number(readFileSync(gcPid, 'utf8'));
      assert.ok(alive(grandchild), 'EXIT arrived while the grandchild still held stdout');
      writeFileSync(go, '');
      assert.ok(await waitGone(grandchild), 'the grandchild wrote, exited and was reaped');
      // Its late write found the pipe closed; nothing more is delivered or kept.
      assert.ok(!c.frames.some((f) => f.pid === s.pid));
      const list = await c.call(T.LIST);
      assert.equal(list.procs.find((p) => p.pid === s.pid).outTotal, 4);
      c.close();
    });

    test('orphaned grandchildren are reaped', async () => {
      const c = await connect(inst);
      const s = await c.spawn(['sh', '-c', 'sleep 0.2 & echo $!'], { flags: F_ATTACH });
      const r = await c.output(s.pid);
      const orphan = Number(r.out.toString().trim());
      assert.ok(await waitGone(orphan), 'the orphan exited and rt-init reaped it');
      c.close();
    });

    test('exec and chdir failures are ERR, and leave no record', async () => {
      const c = await connect(inst);
      const a = await c.spawn(['nosuchcmd-rt-init-test']);
      assert.equal(a.type, T.ERR);
      assert.equal(a.errno, E.ENOENT);
      assert.equal(a.message, 'exec nosuchcmd-rt-init-test: No such file or directory');

      const b = await c.spawn(['true'], { cwd: '/nonexistent-rt-init' });
      assert.equal(b.type, T.ERR);
      assert.equal(b.errno, E.ENOENT);
      assert.equal(b.message, 'chdir /nonexistent-rt-init: No such file or directory');

      // The PATH searched is the one in the SPAWN env, not rt-init's.
      const d = await c.spawn(['true'], { env: ['PATH=/nonexistent-rt-init'] });
      assert.equal(d.type, T.ERR);
      assert.equal(d.errno, E.ENOENT);
      const ok = await c.spawn(['true'], { env: [] }); // default PATH
      assert.equal(ok.type, T.SPAWNED);

      const bad = await c.spawn([]);
      assert.equal(bad.type, T.ERR);
      assert.equal(bad.errno, E.EINVAL);

      const list = await c.call(T.LIST);
      assert.ok(!list.procs.some((p) => p.argv[0] === 'nosuchcmd-rt-init-test'));
      c.close();
    });

    test('stdin is fed by STDIN and closed by STDIN_CLOSE', async () => {
      const c = await connect(inst);
      const s = await c.spawn(['cat'], { flags: F_ATTACH | F_KEEP_STDIN });
      c.send(T.STDIN, u32(s.pid), Buffer.from('hello '));
      c.send(T.STDIN, u32(s.pid), Buffer.from('world'));
      c.send(T.STDIN_CLOSE, u32(s.pid));
      const r = await c.output(s.pid);
      assert.equal(r.out.toString(), 'hello world');
      assert.equal(r.exit.code, 0);

      // 12 MiB to a process that reads nothing for a while: more than rt-init queues per
      // process, so the sending connection is paused until the queue drains.
      const big = await c.spawn(['sh', '-c', 'sleep 0.5; exec wc -c'], {
        flags: F_ATTACH | F_KEEP_STDIN,
      });
      const chunk = Buffer.alloc(256 * 1024, 0x61);
      for (let i = 0; i < 48; i++) c.send(T.STDIN, u32(big.pid), chunk);
      c.send(T.STDIN_CLOSE, u32(big.pid));
      const rb = await c.output(big.pid);
      assert.equal(rb.out.toString().trim(), String(48 * chunk.length));

      // STDIN to an exited or unknown process is ignored; the connection stays usable.
      c.send(T.STDIN, u32(s.pid), Buffer.from('late'));
      c.send(T.STDIN, u32(0x7ffffff0), Buffer.from('nobody'));
      assert.equal((await c.call(T.PING)).type, T.OK);
      c.close();
    });

    test('timeout kills the process group and sets timed_out', async () => {
      const c = await connect(inst);
      const t0 = performance.now();
      const s = await c.spawn(['sh', '-c', 'sleep 300 & echo $!; wait'], {
        flags: F_ATTACH,
        timeout: 300,
      });
      const first = await c.next((f) => f.type === T.OUT && f.pid === s.pid);
      const bg = Number(first.data.toString().trim());
      const exit = await c.next((f) => f.type === T.EXIT && f.pid === s.pid);
      const took = performance.now() - t0;
      assert.deepEqual(
        { code: exit.code, signal: exit.signal, timedOut: exit.timedOut },
        { code: -1, signal: 9, timedOut: 1 },
      );
      // Not before the 300 ms timeout (less a margin for clock granularity; a slow machine only
      // makes it later), and long before the 300 s sleep would have ended by itself: the
      // timeout, not the command, ended it.
      assert.ok(took >= 250 && took < 150_000, `took ${took} ms`);
      assert.ok(await waitGone(bg), 'background child of the group is killed and reaped');
      c.close();
    });

    test('SIGNAL reaches the whole process group', async () => {
      const c = await connect(inst);
      const s = await c.spawn(['sh', '-c', 'sleep 100 & echo $!; sleep 100'], { flags: F_ATTACH });
      const first = await c.next((f) => f.type === T.OUT && f.pid === s.pid);
      const bg = Number(first.data.toString().trim());
      assert.ok(alive(bg));
      const r = await c.call(T.SIGNAL, u32(s.pid), u32(15));
      assert.equal(r.type, T.OK);
      const exit = await c.next((f) => f.type === T.EXIT && f.pid === s.pid);
      assert.ok(exit.signal === 15 || exit.code === 143, JSON.stringify(exit));
      assert.ok(await waitGone(bg), 'background sleep is killed and reaped');
      // The foreground sleep got the signal too, but may still be exiting after sh's EXIT: only
      // once the whole group is gone must a second SIGNAL find nothing to reach.
      assert.ok(await waitGroupGone(s.pid), 'every member of the group is killed and reaped');

      const again = await c.call(T.SIGNAL, u32(s.pid), u32(15));
      assert.equal(again.type, T.ERR);
      assert.equal(again.errno, E.ESRCH);
      const unknown = await c.call(T.SIGNAL, u32(0x7ffffff0), u32(15));
      assert.equal(unknown.errno, E.ESRCH);
      c.close();
    });

    test('ATTACH replays output produced while no client was connected', async () => {
      const c1 = await connect(inst);
      const s = await c1.spawn(
        ['sh', '-c', 'printf a; sleep 0.4; printf bb; echo E >&2; printf ccc'],
        {
          flags: F_ATTACH,
        },
      );
      const first = await c1.next((f) => f.type === T.OUT && f.pid === s.pid);
      assert.equal(first.offset, 0);
      assert.equal(first.data.toString(), 'a');
      c1.close();

      // The rest of the output comes, and the process ends, while no client is attached.
      const c2 = await connect(inst);
      await waitListed(c2, s.pid, (p) => !p.running);
      const ok = await c2.call(T.ATTACH, u32(s.pid), u64(1), u64(0));
      assert.equal(ok.type, T.OK);
      const r = await c2.output(s.pid, { 1: 1, 2: 0 });
      assert.equal(r.out.toString(), 'bbccc');
      assert.equal(r.err.toString(), 'E\n');
      assert.equal(r.exit.code, 0);

      await c2.call(T.ATTACH, u32(s.pid), u64(0), u64(2));
      const all = await c2.output(s.pid, { 1: 0, 2: 2 });
      assert.equal(all.out.toString(), 'abbccc');
      assert.equal(all.err.length, 0);

      // Re-attach to a running process: replay, then live output, then EXIT. The process prints
      // its second part only once `go` exists, so it surely runs when the client attaches.
      const go = `${inst.dir}/attach-go`;
      const s2 = await c2.spawn([
        'sh',
        '-c',
        `printf x; while [ ! -e ${go} ]; do sleep 0.02; done; printf y`,
      ]);
      await waitListed(c2, s2.pid, (p) => p.outTotal === 1);
      c2.close();
      const c3 = await connect(inst);
      await c3.call(T.ATTACH, u32(s2.pid), u64(0), u64(0));
      const replayed = await c3.next((f) => f.type === T.OUT && f.pid === s2.pid);
      assert.equal(replayed.data.toString(), 'x');
      writeFileSync(go, '');
      const live = await c3.output(s2.pid, { 1: 1, 2: 0 });
      assert.equal(live.out.toString(), 'y');

      // DETACH stops delivery: nothing comes for the process up to its end. LIST is answered in
      // order on the same connection, so a frame sent before it reports the end would be here.
      const s3 = await c3.spawn(['sh', '-c', 'read x; echo late'], {
        flags: F_ATTACH | F_KEEP_STDIN,
      });
      assert.equal((await c3.call(T.DETACH, u32(s3.pid))).type, T.OK);
      c3.send(T.STDIN, u32(s3.pid), Buffer.from('go\n'));
      await waitListed(c3, s3.pid, (p) => !p.running);
      assert.ok(!c3.frames.some((f) => f.pid === s3.pid));

      const missing = await c3.call(T.ATTACH, u32(0x7ffffff0), u64(0), u64(0));
      assert.equal(missing.errno, E.ESRCH);
      c3.close();
    });

    test('LIST and FORGET', async () => {
      const c = await connect(inst);
      const t = await c.spawn(['sh', '-c', 'printf 12345; exit 3'], { flags: F_ATTACH });
      await c.output(t.pid);
      const sl = await c.spawn(['sleep', '100']);
      const before = Date.now();
      const list = await c.call(T.LIST);
      assert.equal(list.type, T.PROCS);
      const done = list.procs.find((p) => p.pid === t.pid);
      assert.deepEqual(
        {
          running: done.running,
          code: done.code,
          signal: done.signal,
          outTotal: done.outTotal,
          errTotal: done.errTotal,
          argv: done.argv,
        },
        {
          running: 0,
          code: 3,
          signal: 0,
          outTotal: 5,
          errTotal: 0,
          argv: ['sh', '-c', 'printf 12345; exit 3'],
        },
      );
      assert.ok(Math.abs(done.startedAt - before) < 10000);
      const running = list.procs.find((p) => p.pid === sl.pid);
      assert.equal(running.running, 1);
      assert.deepEqual(running.argv, ['sleep', '100']);

      assert.equal((await c.call(T.FORGET, u32(sl.pid))).errno, E.EBUSY);
      assert.equal((await c.call(T.FORGET, u32(t.pid))).type, T.OK);
      assert.equal((await c.call(T.FORGET, u32(t.pid))).errno, E.ESRCH);
      const list2 = await c.call(T.LIST);
      assert.ok(!list2.procs.some((p) => p.pid === t.pid));

      await c.call(T.SIGNAL, u32(sl.pid), u32(9));
      await c.call(T.ATTACH, u32(sl.pid), u64(0), u64(0));
      await c.output(sl.pid);
      assert.equal((await c.call(T.FORGET, u32(sl.pid))).type, T.OK);
      c.close();
    });

    test('spawn as another uid/gid drops supplementary groups', async (t) => {
      if (process.getuid() !== 0) {
        t.skip('needs root');
        return;
      }
      const c = await connect(inst);
      const s = await c.spawn(['sh', '-c', 'id -u; id -g; id -G'], {
        flags: F_ATTACH,
        uid: 65534,
        gid: 65534,
      });
      const r = await c.output(s.pid);
      assert.equal(r.out.toString(), '65534\n65534\n65534\n');
      c.close();
    });

    test('a fast writer is not blocked by a slow reader (5 MiB)', async () => {
      const c = await connect(inst);
      const other = await connect(inst);
      const n = 800000;
      let expected = '';
      for (let i = 1; i <= n; i++) expected += `${i}\n`;
      assert.ok(expected.length > 5 * 1024 * 1024);

      const s = await c.spawn(['seq', '1', String(n)], { flags: F_ATTACH });
      c.sock.pause();
      // While this client reads nothing, the process still runs to completion.
      await waitListed(other, s.pid, (p) => !p.running);
      // Now read slowly.
      c.sock.on('data', () => {
        c.sock.pause();
        setTimeout(() => c.sock.resume(), 2);
      });
      c.sock.resume();
      const r = await c.output(s.pid, undefined, 60000);
      assert.equal(r.out.length, expected.length);
      assert.ok(r.out.equals(Buffer.from(expected)), 'content and order intact');
      assert.equal(r.exit.code, 0);
      c.close();
      other.close();
    });
  });

  describe('files', () => {
    let d;
    let c;
    before(async () => {
      d = `${inst.dir}/files`;
      c = await connect(inst);
    });
    after(() => c.close());

    const writeFile = async (path, data, flags = 0, mode = 0o644) => {
      const open = await c.call(T.WRITE_OPEN, str(path), u32(mode), u32(flags));
      if (open.type !== T.OK) return open;
      const req = open.req;
      for (let i = 0; i < data.length; i += 100000) {
        c.send(T.WRITE_DATA, u32(req), data.subarray(i, i + 100000));
      }
      c.send(T.WRITE_CLOSE, u32(req));
      return c.reply(req);
    };
    const readFile = async (path, offset = 0, length = 2n ** 64n - 1n) => {
      const r = await c.stream(T.READ, str(path), u64(offset), u64(length));
      if (r.end.type === T.ERR) return r.end;
      for (const f of r.frames) {
        assert.equal(f.type, T.DATA);
        assert.ok(f.data.length > 0 && f.data.length <= 65536);
      }
      return Buffer.concat(r.frames.map((f) => f.data));
    };
    const stat = (path, follow = 0) => c.call(T.STAT, str(path), u8(follow));

    test('WRITE with MKDIRS, READ ranges, APPEND, truncate, EXCL', async () => {
      const f = `${d}/a/b/file.txt`;
      assert.equal((await writeFile(f, Buffer.from('hello world'), W_MKDIRS, 0o640)).type, T.OK);
      assert.equal((await readFile(f)).toString(), 'hello world');
      assert.equal((await readFile(f, 6, 3)).toString(), 'wor');
      assert.equal((await readFile(f, 6)).toString(), 'world');
      assert.equal((await readFile(f, 100)).length, 0);
      assert.equal((await readFile(f, 0, 0)).length, 0);

      const st = await stat(f);
      assert.equal(st.mode & S_IFMT, S_IFREG);
      assert.equal(st.mode & 0o7777, 0o640, 'mode applies exactly');
      assert.equal(st.size, 11);
      assert.ok(Math.abs(st.mtimeMs - Date.now()) < 60000);
      assert.equal(st.linkTarget, '');

      assert.equal((await writeFile(f, Buffer.from('!!'), W_APPEND)).type, T.OK);
      assert.equal((await readFile(f)).toString(), 'hello world!!');
      assert.equal((await writeFile(f, Buffer.from('x'))).type, T.OK);
      assert.equal((await readFile(f)).toString(), 'x');

      const ex = await writeFile(f, Buffer.from('y'), W_EXCL);
      assert.equal(ex.type, T.ERR);
      assert.equal(ex.errno, E.EEXIST);
      assert.equal((await readFile(f)).toString(), 'x');

      const nodir = await writeFile(`${d}/missing/x`, Buffer.from('y'));
      assert.equal(nodir.errno, E.ENOENT);

      // A big file, streamed back in 64 KiB DATA frames.
      const big = Buffer.alloc(3 * 1024 * 1024 + 123);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 11)) & 0xff;
      assert.equal((await writeFile(`${d}/big.bin`, big)).type, T.OK);
      assert.ok((await readFile(`${d}/big.bin`)).equals(big));
      assert.ok(
        (await readFile(`${d}/big.bin`, 100000, 200000)).equals(big.subarray(100000, 300000)),
      );

      // WRITE_CLOSE without WRITE_OPEN.
      assert.equal((await c.call(T.WRITE_CLOSE)).errno, E.EBADF);
    });

    test('a frame of exactly 16 MiB is accepted', async () => {
      const f = `${d}/max-frame.bin`;
      const open = await c.call(T.WRITE_OPEN, str(f), u32(0o644), u32(0));
      assert.equal(open.type, T.OK);
      const data = Buffer.alloc(16 * 1024 * 1024 - 5, 0x5a); // + type + req = 16 MiB
      c.send(T.WRITE_DATA, u32(open.req), data);
      c.send(T.WRITE_CLOSE, u32(open.req));
      assert.equal((await c.reply(open.req, 30000)).type, T.OK);
      assert.equal((await stat(f)).size, data.length);
      assert.equal((await c.call(T.REMOVE, str(f), u8(0))).type, T.OK);
    });

    test('errors: EISDIR, ENOENT, relative paths', async () => {
      assert.equal((await readFile(d)).errno, E.EISDIR);
      const missing = await readFile(`${d}/nope`);
      assert.equal(missing.errno, E.ENOENT);
      assert.match(missing.message, /nope: No such file or directory/);
      assert.equal((await stat(`${d}/nope`)).errno, E.ENOENT);
      assert.equal((await readFile('relative/path')).errno, E.EINVAL);
      assert.equal((await stat('')).errno, E.EINVAL);
      assert.equal((await writeFile(d, Buffer.from('x'))).errno, E.EISDIR);
    });

    test('STAT of file, directory and symlink', async () => {
      await writeFile(`${d}/s/target`, Buffer.from('12345'), W_MKDIRS);
      execFileSync('ln', ['-s', 'target', `${d}/s/link`]);
      const dir = await stat(`${d}/s`);
      assert.equal(dir.mode & S_IFMT, S_IFDIR);
      const l = await stat(`${d}/s/link`, 0);
      assert.equal(l.mode & S_IFMT, S_IFLNK);
      assert.equal(l.linkTarget, 'target');
      const lf = await stat(`${d}/s/link`, 1);
      assert.equal(lf.mode & S_IFMT, S_IFREG);
      assert.equal(lf.size, 5);
      assert.equal(lf.linkTarget, '');
    });

    test('LISTDIR depth-first, sorted, depth-limited, symlinks not followed', async () => {
      const root = `${d}/tree`;
      for (const f of ['c.txt', 'a/z', 'a/y/deep', 'b/.hidden']) {
        await writeFile(`${root}/${f}`, Buffer.from(f), W_MKDIRS);
      }
      execFileSync('ln', ['-s', 'a', `${root}/link`]);
      const list = async (depth) => {
        const r = await c.stream(T.LISTDIR, str(root), u32(depth));
        assert.equal(r.end.type, T.OK);
        return r.frames.flatMap((f) => f.entries);
      };
      const two = await list(2);
      assert.deepEqual(
        two.map((e) => e.path),
        ['a', 'a/y', 'a/z', 'b', 'b/.hidden', 'c.txt', 'link'],
      );
      const byPath = Object.fromEntries(two.map((e) => [e.path, e]));
      assert.equal(byPath.a.mode & S_IFMT, S_IFDIR);
      assert.equal(byPath['a/z'].size, 3);
      assert.equal(byPath.link.mode & S_IFMT, S_IFLNK);
      assert.deepEqual(
        (await list(1)).map((e) => e.path),
        ['a', 'b', 'c.txt', 'link'],
      );
      assert.deepEqual(
        (await list(10)).map((e) => e.path),
        ['a', 'a/y', 'a/y/deep', 'a/z', 'b', 'b/.hidden', 'c.txt', 'link'],
      );
      assert.equal((await list(0)).length, 0);

      // Many entries span several ENTRIES frames.
      const many = `${d}/many`;
      execFileSync('sh', [
        '-c',
        `mkdir -p ${many} && cd ${many} && seq -f 'file-with-a-long-name-%05g' 1 3000 | xargs touch`,
      ]);
      const r = await c.stream(T.LISTDIR, str(many), u32(1));
      assert.ok(r.frames.length > 1);
      const names = r.frames.flatMap((f) => f.entries.map((e) => e.path));
      assert.equal(names.length, 3000);
      assert.deepEqual(names, [...names].sort());

      const err = await c.stream(T.LISTDIR, str(`${root}/c.txt`), u32(1));
      assert.equal(err.end.errno, E.ENOTDIR);
    });

    test('MKDIR with and without parents', async () => {
      const m = `${d}/m/n/o`;
      assert.equal((await c.call(T.MKDIR, str(m), u32(0o750), u8(1))).type, T.OK);
      assert.equal((await stat(m)).mode & 0o7777, 0o750);
      assert.equal((await c.call(T.MKDIR, str(m), u32(0o750), u8(1))).type, T.OK);
      assert.equal((await c.call(T.MKDIR, str(m), u32(0o750), u8(0))).errno, E.EEXIST);
      assert.equal((await c.call(T.MKDIR, str(`${d}/x/y`), u32(0o755), u8(0))).errno, E.ENOENT);
      assert.equal((await c.call(T.MKDIR, str(`${d}/m/n/p`), u32(0o700), u8(0))).type, T.OK);
      await writeFile(`${d}/m/file`, Buffer.from('f'));
      const mkdir = async (path, parents) =>
        (await c.call(T.MKDIR, str(path), u32(0o755), u8(parents))).errno;
      assert.equal(await mkdir(`${d}/m/file/q`, 1), E.ENOTDIR);
      // EEXIST only without parents.
      assert.equal(await mkdir(`${d}/m/file`, 1), E.ENOTDIR);
      assert.equal(await mkdir(`${d}/m/file`, 0), E.EEXIST);
    });

    test('REMOVE and RENAME', async () => {
      const r = `${d}/rm`;
      await writeFile(`${r}/t/u/v`, Buffer.from('v'), W_MKDIRS);
      await writeFile(`${r}/file`, Buffer.from('f'));
      execFileSync('ln', ['-s', 't', `${r}/dirlink`]);

      assert.equal((await c.call(T.REMOVE, str(`${r}/file`), u8(0))).type, T.OK);
      assert.equal((await stat(`${r}/file`)).errno, E.ENOENT);
      // A symlink to a directory is removed itself, never followed.
      assert.equal((await c.call(T.REMOVE, str(`${r}/dirlink`), u8(1))).type, T.OK);
      assert.equal((await stat(`${r}/t/u/v`)).type, T.STATR);

      assert.equal((await c.call(T.REMOVE, str(`${r}/t`), u8(0))).errno, E.ENOTEMPTY);
      assert.equal((await c.call(T.REMOVE, str(`${r}/t`), u8(1))).type, T.OK);
      assert.equal((await stat(`${r}/t`)).errno, E.ENOENT);
      assert.equal((await c.call(T.REMOVE, str(`${r}/t`), u8(1))).errno, E.ENOENT);
      await c.call(T.MKDIR, str(`${r}/empty`), u32(0o755), u8(0));
      assert.equal((await c.call(T.REMOVE, str(`${r}/empty`), u8(0))).type, T.OK);

      await writeFile(`${r}/from`, Buffer.from('moved'));
      assert.equal((await c.call(T.RENAME, str(`${r}/from`), str(`${r}/to`))).type, T.OK);
      assert.equal((await stat(`${r}/from`)).errno, E.ENOENT);
      assert.equal((await readFile(`${r}/to`)).toString(), 'moved');
      assert.equal((await c.call(T.RENAME, str(`${r}/from`), str(`${r}/to`))).errno, E.ENOENT);
    });
  });

  describe('CONNECT', () => {
    let server;
    let port;
    const serverSockets = new Set();
    before(async () => {
      server = net.createServer({ allowHalfOpen: true }, (s) => {
        serverSockets.add(s);
        s.on('close', () => serverSockets.delete(s));
        s.on('data', (d) => s.write(d));
        s.on('end', () => s.end('bye'));
        s.on('error', () => {});
      });
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      port = server.address().port;
    });
    after(() => {
      // close() waits for open connections; a failed test may have left one.
      for (const s of serverSockets) s.destroy();
      return new Promise((r) => server.close(r));
    });

    test('relays raw bytes both ways and propagates half-close', async () => {
      const c = await connect(inst, { allowHalfOpen: true });
      const req = c.nextReq++;
      c.switchToRawOnOk = req;
      c.send(T.CONNECT, u32(req), u32(port));
      const ok = await c.reply(req);
      assert.equal(ok.type, T.OK);

      c.sock.write('ping');
      await c.waitRaw((d) => d.toString() === 'ping');

      const big = Buffer.alloc(4 * 1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 13) & 0xff;
      c.sock.write(big);
      c.sock.end(); // half-close: the server sees end, answers 'bye' and ends
      const all = await c.waitRaw((_data, ended) => ended, 30000);
      assert.equal(all.length, 4 + big.length + 3);
      assert.ok(all.subarray(4, 4 + big.length).equals(big));
      assert.equal(all.subarray(4 + big.length).toString(), 'bye');
      await c.waitClosed();
    });

    test('a closed port gives ERR and the connection stays framed', async () => {
      const tmp = net.createServer();
      await new Promise((r) => tmp.listen(0, '127.0.0.1', r));
      const closedPort = tmp.address().port;
      await new Promise((r) => tmp.close(r));

      const c = await connect(inst);
      const r = await c.call(T.CONNECT, u32(closedPort));
      assert.equal(r.type, T.ERR);
      assert.equal(r.errno, E.ECONNREFUSED);
      assert.equal((await c.call(T.PING)).type, T.OK);
      assert.equal((await c.call(T.CONNECT, u32(70000))).errno, E.EINVAL);
      c.close();
    });
  });

  describe('robustness', () => {
    test('unknown types and truncated payloads get ERR EINVAL', async () => {
      const c = await connect(inst);
      const u = await c.call(0x77, Buffer.from('junk'));
      assert.equal(u.type, T.ERR);
      assert.equal(u.errno, E.EINVAL);

      // Every proper prefix (with a complete req) of every request with a reply.
      const p = `${inst.dir}/trunc`;
      const payloads = {
        [T.SPAWN]: spawnPayload(0, ['true'], { cwd: '/' }).subarray(4),
        [T.SIGNAL]: Buffer.concat([u32(1), u32(15)]),
        [T.ATTACH]: Buffer.concat([u32(1), u64(0), u64(0)]),
        [T.DETACH]: u32(1),
        [T.FORGET]: u32(1),
        [T.CONNECT]: u32(1),
        [T.READ]: Buffer.concat([str(p), u64(0), u64(1)]),
        [T.WRITE_OPEN]: Buffer.concat([str(p), u32(0o644), u32(0)]),
        [T.STAT]: Buffer.concat([str(p), u8(0)]),
        [T.LISTDIR]: Buffer.concat([str(p), u32(1)]),
        [T.MKDIR]: Buffer.concat([str(p), u32(0o755), u8(0)]),
        [T.REMOVE]: Buffer.concat([str(p), u8(0)]),
        [T.RENAME]: Buffer.concat([str(p), str(`${p}2`)]),
      };
      for (const [type, full] of Object.entries(payloads)) {
        for (let cut = 0; cut < full.length; cut++) {
          const r = await c.call(Number(type), full.subarray(0, cut));
          assert.equal(r.type, T.ERR, `type ${type} cut ${cut}`);
          assert.equal(r.errno, E.EINVAL, `type ${type} cut ${cut}`);
        }
      }
      // NUL inside a path or argv entry.
      assert.equal((await c.call(T.STAT, str('/tmp\0x'), u8(0))).errno, E.EINVAL);
      assert.equal((await c.spawn(['tr\0ue'])).errno, E.EINVAL);
      assert.equal((await c.call(T.PING)).type, T.OK);
      c.close();
    });

    test('frames without a readable req, or with a bad length, close the connection', async () => {
      const cases = [
        frame(T.PING, Buffer.from([1, 2])), // req truncated
        frame(T.STDIN, Buffer.from([1])), // pid truncated
        frame(0x77), // unknown type, no req
        Buffer.from([0, 0, 0, 0]), // length 0: not even a type
        Buffer.from([0xff, 0xff, 0xff, 0xff, 1]), // over 16 MiB
        (() => {
          const b = Buffer.alloc(5);
          b.writeUInt32LE(16 * 1024 * 1024 + 1);
          b[4] = T.PING;
          return b;
        })(),
      ];
      for (const bytes of cases) {
        const c = await connect(inst);
        c.sock.write(bytes);
        await c.waitClosed();
      }
      assert.equal((await ping(inst)).type, T.OK);
    });

    test('random garbage and random frames do not crash rt-init', async () => {
      // Deterministic PRNG so a failure can be reproduced.
      let seed = 12345;
      const rand = () => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed;
      };
      const bytes = (n) => Buffer.from(Array.from({ length: n }, () => rand() & 0xff));

      for (let i = 0; i < 20; i++) {
        const c = await connect(inst);
        c.sock.write(bytes(1 + (rand() % 4096)));
        await sleep(5);
        c.close();
      }
      // Well-framed random payloads for the non-destructive requests and unknown types.
      const types = [
        T.STDIN,
        T.STDIN_CLOSE,
        T.SIGNAL,
        T.ATTACH,
        T.DETACH,
        T.LIST,
        T.FORGET,
        T.PING,
        T.READ,
        T.WRITE_DATA,
        T.WRITE_CLOSE,
        T.STAT,
        T.LISTDIR,
        0x00,
        0x19,
        0x42,
        0x85,
        0xff,
      ];
      let c = await connect(inst);
      for (let i = 0; i < 3000; i++) {
        if (c.closed) c = await connect(inst);
        const type = types[rand() % types.length];
        c.send(type, bytes(rand() % 40));
        if (i % 100 === 0) await sleep(1);
      }
      c.close();
      assert.equal((await ping(inst)).type, T.OK);
      assert.equal(inst.exited, null);
    });

    test('many concurrent connections', async () => {
      const n = 200;
      const results = await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const c = await connect(inst);
          assert.equal((await c.call(T.PING)).type, T.OK);
          const s = await c.spawn(['echo', `conn-${i}`], { flags: F_ATTACH });
          const r = await c.output(s.pid);
          assert.equal((await c.call(T.FORGET, u32(s.pid))).type, T.OK);
          return { c, out: r.out.toString() };
        }),
      );
      results.forEach((r, i) => {
        assert.equal(r.out, `conn-${i}\n`);
      });
      for (const r of results) r.c.close();
      assert.equal((await ping(inst)).type, T.OK);
    });
  });
});

describe('rt-init --keep-output', () => {
  test('keeps only the last BYTES per stream; ATTACH replays from the oldest kept', async () => {
    const inst = await startInit(['--keep-output', '1000']);
    try {
      const c = await connect(inst);
      let expected = '';
      for (let i = 1; i <= 2000; i++) expected += `${i}\n`;
      const s = await c.spawn(['seq', '1', '2000'], { flags: F_ATTACH });
      const live = await c.output(s.pid);
      assert.equal(live.out.toString(), expected, 'live output is complete');

      const total = expected.length;
      await c.call(T.ATTACH, u32(s.pid), u64(0), u64(0));
      const first = await c.next((f) => f.type === T.OUT && f.pid === s.pid);
      assert.equal(first.offset, total - 1000);
      const r = await c.output(s.pid, { 1: first.offset + first.data.length, 2: 0 });
      assert.equal(Buffer.concat([first.data, r.out]).toString(), expected.slice(total - 1000));

      await c.call(T.ATTACH, u32(s.pid), u64(total - 10), u64(0));
      const tail = await c.output(s.pid, { 1: total - 10, 2: 0 });
      assert.equal(tail.out.toString(), expected.slice(total - 10));

      const list = await c.call(T.LIST);
      assert.equal(list.procs.find((p) => p.pid === s.pid).outTotal, total);
      c.close();
    } finally {
      await stopInit(inst);
    }
  });
});

describe('rt-init shutdown', () => {
  test('SIGTERM: TERM to every group, KILL after 2 s, exit 0', async () => {
    const inst = await startInit();
    const c = await connect(inst);
    const polite = await c.spawn(['sleep', '100'], { flags: F_ATTACH });
    const stubborn = await c.spawn(['sh', '-c', 'trap "" TERM; sleep 100 & echo $!; wait'], {
      flags: F_ATTACH,
    });
    const first = await c.next((f) => f.type === T.OUT && f.pid === stubborn.pid);
    const bg = Number(first.data.toString().trim());
    const t0 = performance.now();
    process.kill(inst.proc.pid, 'SIGTERM');
    const exit = await c.next((f) => f.type === T.EXIT && f.pid === polite.pid);
    assert.equal(exit.signal, 15);
    const st = await inst.exitPromise;
    const took = performance.now() - t0;
    assert.deepEqual(st, { code: 0, signal: null });
    // The grace is a deadline in rt-init (SHUTDOWN_GRACE_MS, 2 s): it exits no sooner, since the
    // stubborn group ignores TERM (a slow machine only makes it later), and it does exit rather
    // than wait for the 100 s sleeps; the upper bound is 10x the grace for a loaded machine.
    assert.ok(took >= 1800 && took < 20_000, `exited after ${took} ms`);
    assert.ok(await waitDead(stubborn.pid), 'stubborn leader killed');
    assert.ok(await waitDead(bg), 'stubborn background child killed');
    c.close();
    await stopInit(inst);
  });
});
