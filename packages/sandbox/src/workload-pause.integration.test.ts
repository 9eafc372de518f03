import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Sandbox } from './sandbox.ts';
import { useTestEngine, waitFor } from './testing/test-engine.ts';

/**
 * Pause and resume real workloads of the system templates: servers keep their memory, clients
 * their connections inside the sandbox, files their contents, and what CRIU cannot checkpoint
 * fails the pause with a message that names it while the sandbox keeps running. The sandboxes
 * are shared by the tests of a suite (each test pauses and resumes them itself).
 */

// Node: an in-memory counter, and an endless streaming response with the count of such streams
// the server saw cut (a proxied connection cut by a pause must not stay half open inside).
const NODE_SERVER = `
let count = 0, cut = 0;
require('http').createServer((req, res) => {
  if (req.url === '/count') return res.end(String(++count));
  if (req.url === '/streams-cut') return res.end(String(cut));
  if (req.url === '/stream') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const timer = setInterval(() => res.write('tick\\n'), 20);
    return res.once('close', () => { clearInterval(timer); cut++; });
  }
  res.statusCode = 404; res.end();
}).listen(3000);`;

const BUN_SERVER = `
let count = 0;
Bun.serve({ port: 3001, fetch: () => new Response(String(++count)) });`;

const get = async (url: string) => {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  return res.text();
};

describe('pausing Node.js and Bun workloads (nodejs-20)', () => {
  const t = useTestEngine('workload-node');
  let sbx: Sandbox;
  let node: string;
  let bun: string;
  before(async () => {
    sbx = await t.engine.create({ template: 'nodejs-20' });
    await sbx.spawn(['node', '-e', NODE_SERVER]);
    await sbx.spawn(['bun', '-e', BUN_SERVER]);
    node = (await sbx.ports.expose(3000)).url;
    bun = (await sbx.ports.expose(3001)).url;
    await waitFor(() => get(`${node}/count`).catch(() => undefined));
    await waitFor(() => get(bun).catch(() => undefined));
  });

  it("keeps a Node HTTP server's in-memory counter; the port proxy resumes and reaches it", async () => {
    const before = Number(await get(`${node}/count`));
    await sbx.pause();
    assert.equal(sbx.state, 'paused');
    // The exposed port is still open on the host; a request to it resumes the sandbox.
    assert.equal(await get(`${node}/count`), String(before + 1));
    assert.equal(sbx.state, 'running');
    await sbx.pause();
    await sbx.resume();
    assert.equal(await get(`${node}/count`), String(before + 2));
  });

  it("keeps a Bun server's in-memory counter", async () => {
    const before = Number(await get(bun));
    await sbx.pause();
    await sbx.resume();
    assert.equal(await get(bun), String(before + 1));
  });

  it('cuts a proxied HTTP response in flight at the pause; the server sees it closed and serves on', async () => {
    const cutBefore = Number(await get(`${node}/streams-cut`));
    const res = await fetch(`${node}/stream`);
    const reader = res.body?.getReader();
    assert.ok(reader);
    const first = await reader.read();
    assert.match(new TextDecoder().decode(first.value), /tick/);
    // The pause arrives while the server is writing to this connection.
    await sbx.pause();
    // The client's stream ends (cut, not hung): an error or a clean end, never more ticks.
    const rest = await (async () => {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) return 'ended';
      }
    })().catch(() => 'cut');
    assert.ok(rest === 'ended' || rest === 'cut');
    await sbx.resume();
    // The server saw the stream's connection close.
    await waitFor(async () => Number(await get(`${node}/streams-cut`)) === cutBefore + 1);
    // No half-open socket is left behind that would break the next checkpoint.
    await sbx.pause();
    await sbx.resume();
    assert.match(await get(`${node}/count`), /^\d+$/);
  });
});

describe('pausing services and interactive processes (full-stack)', () => {
  const t = useTestEngine('workload-services');
  let sbx: Sandbox;
  const psql = (sql: string) =>
    sbx.exec(['su', 'postgres', '-s', '/bin/sh', '-c', `psql -h /tmp/pg -X -qAt -c "${sql}"`]);
  const redis = (...args: string[]) => sbx.exec(['redis-cli', ...args]);
  before(async () => {
    sbx = await t.engine.create({ template: 'full-stack' });
    const started = await sbx.exec(
      `set -e
       PG=$(ls -d /usr/lib/postgresql/*/bin | head -1)
       mkdir -p /tmp/pg && chown postgres /tmp/pg
       su postgres -s /bin/sh -c "$PG/initdb -D /tmp/pg/data -A trust >/dev/null && $PG/pg_ctl -D /tmp/pg/data -l /tmp/pg/log -o '-k /tmp/pg' -w start >/dev/null"
       redis-server --daemonize yes --port 6379 --save '' >/dev/null`,
    );
    assert.equal(started.exitCode, 0, started.stderr);
    await waitFor(async () => (await redis('ping')).stdout.trim() === 'PONG');
  });

  it('keeps PostgreSQL and Redis data and connections; both serve on after the resume', async () => {
    assert.equal(
      (await psql('create table t (n int); insert into t select generate_series(1, 1000)'))
        .exitCode,
      0,
    );
    assert.equal((await redis('set', 'greeting', 'hello')).stdout.trim(), 'OK');
    assert.equal((await redis('rpush', 'list', 'a', 'b', 'c')).stdout.trim(), '3');
    // A client session that stays connected across the pause (an app's connection pool).
    const session = await sbx.spawn(
      ['su', 'postgres', '-s', '/bin/sh', '-c', 'psql -h /tmp/pg -X -qAt'],
      { stdin: true },
    );
    await sbx.processes.write(session, "select 'before', count(*) from t;\n");

    await sbx.pause();
    await sbx.resume();

    assert.equal((await psql('select sum(n) from t')).stdout.trim(), '500500');
    assert.equal((await psql('insert into t values (1001)')).exitCode, 0);
    assert.equal((await redis('get', 'greeting')).stdout.trim(), 'hello');
    assert.equal((await redis('lrange', 'list', '0', '-1')).stdout, 'a\nb\nc\n');
    assert.equal((await redis('incr', 'hits')).stdout.trim(), '1');
    await sbx.processes.write(session, "select 'after', count(*) from t;\n");
    await sbx.processes.closeStdin(session);
    let out = '';
    const exit = await sbx.processes.attach(session, {
      onStdout: (c) => {
        out += c;
      },
    });
    assert.equal(exit.exitCode, 0);
    assert.equal(out, 'before|1000\nafter|1001\n');
  });

  it("keeps a client's TCP connection to Redis on 127.0.0.1 across the pause", async () => {
    // One connection, never reopened: the client exits on any error, so the count going on
    // after the resume shows CRIU brought the loopback connection back.
    const client = await sbx.spawn([
      'python3',
      '-c',
      [
        'import os, socket, time',
        'c = socket.create_connection(("127.0.0.1", 6379))',
        'while True:',
        '    c.sendall(b"INCR tcp-client\\r\\n")',
        '    n = c.recv(64).decode().strip().lstrip(":")',
        '    open("/tmp/tcp.new", "w").write(n); os.rename("/tmp/tcp.new", "/tmp/tcp")',
        '    time.sleep(0.02)',
      ].join('\n'),
    ]);
    const count = async () =>
      Number((await sbx.files.read('/tmp/tcp').catch(() => '0')).toString());
    await waitFor(async () => (await count()) > 5);
    await sbx.pause();
    await sbx.resume();
    const atResume = await count();
    await waitFor(async () => (await count()) > atResume + 5);
    const procs = await sbx.processes.list();
    assert.ok(procs.find((p) => p.pid === client)?.running, 'the client never failed');
    await sbx.processes.kill(client, 'SIGKILL');
  });

  it('keeps a Python REPL fed over stdin, with its variables', async () => {
    const pid = await sbx.spawn(['python3', '-q', '-u', '-i'], { stdin: true });
    await sbx.processes.write(
      pid,
      'import itertools\ncounter = itertools.count(41)\nseen = {"a": 1}\n',
    );
    await sbx.pause();
    await sbx.resume();
    await sbx.processes.write(pid, 'print(next(counter), next(counter), seen["a"])\n');
    await sbx.processes.closeStdin(pid);
    let out = '';
    await sbx.processes.attach(pid, {
      onStdout: (c) => {
        out += c;
      },
    });
    assert.equal(out.trim(), '41 42 1');
  });

  it('keeps a process appending to an open file: no gap, no corruption, appending on', async () => {
    // One line per tick through a descriptor held open (O_APPEND), as a logger does.
    const writer = await sbx.spawn([
      'bash',
      '-c',
      'exec 3>>/tmp/app.log; i=0; while :; do i=$((i+1)); echo "line $i" >&3; sleep 0.01; done',
    ]);
    const lines = async () => (await sbx.files.read('/tmp/app.log')).toString().split('\n');
    await waitFor(async () => (await lines().catch(() => [])).length > 20);
    await sbx.pause();
    await sbx.resume();
    const atResume = (await lines()).length;
    await waitFor(async () => (await lines()).length > atResume + 20);
    await sbx.processes.kill(writer, 'SIGKILL');
    const all = (await lines()).filter((l) => l !== '');
    assert.deepEqual(
      all,
      all.map((_, i) => `line ${i + 1}`),
      'every line once, in order',
    );
  });
});

describe('pauses that CRIU cannot make (debian-13)', () => {
  const t = useTestEngine('workload-refused');
  let sbx: Sandbox;
  before(async () => {
    sbx = await t.engine.create({ template: 'debian-13' });
  });

  it('refuses to pause while a process is traced, names it, keeps running, and pauses once the tracer is gone', async () => {
    // perl forks a child that asks to be traced (PTRACE_TRACEME) and runs sleep; perl stays its
    // tracer, as strace or gdb would.
    const tracer = await sbx.spawn([
      'perl',
      '-e',
      'my $pid = fork(); if ($pid == 0) { syscall(101, 0, 0, 0, 0); exec("sleep", "600"); } ' +
        'waitpid($pid, 0); syscall(101, 7, $pid, 0, 0); ' +
        'open(my $f, ">", "/tmp/traced.pid"); print $f $pid; close($f); sleep 600;',
    ]);
    const traced = Number(
      await waitFor(async () =>
        (await sbx.files.read('/tmp/traced.pid').catch(() => '')).toString(),
      ),
    );
    const started = performance.now();
    await assert.rejects(sbx.pause(), (err: Error & { code?: string; details?: object }) => {
      assert.equal(err.code, 'checkpoint_failed');
      assert.match(
        err.message,
        new RegExp(
          `process ${traced} \\(sleep\\) is being traced by process ${tracer} \\(perl\\) \\(ptrace.*Detach the tracer and pause again\\. The sandbox keeps running\\.$`,
        ),
      );
      assert.deepEqual(err.details, { sandboxId: sbx.id, pid: traced, comm: 'sleep' });
      return true;
    });
    // Found before CRIU, which would have held the sandbox frozen for its 10 s seize timeout.
    assert.ok(performance.now() - started < 5000, 'refused without waiting for CRIU');
    assert.equal(sbx.state, 'running');
    assert.equal((await sbx.exec(`kill -0 ${traced} && echo alive`)).stdout, 'alive\n');
    // The tracer ends (as strace would): its tracee is detached and carries on. (Only the tracer:
    // processes.kill would signal its whole group, the tracee with it.)
    assert.equal((await sbx.exec(`kill -KILL ${tracer}`)).exitCode, 0);
    const untraced = `grep -q '^TracerPid:[[:space:]]*0$' /proc/${traced}/status`;
    await waitFor(async () => (await sbx.exec(untraced)).exitCode === 0);
    await sbx.pause();
    await sbx.resume();
    assert.equal((await sbx.exec(`kill -0 ${traced} && echo alive`)).stdout, 'alive\n');
  });

  it('refuses to pause while a process is stopped, names it, and pauses once it continues', async () => {
    // Stopped once it is sleep (not the shell's child before its exec).
    await sbx.spawn([
      'bash',
      '-c',
      'sleep 600 & p=$!; until grep -qx sleep /proc/$p/comm; do :; done; kill -STOP $p && echo $p > /tmp/stopped.pid; wait',
    ]);
    const stopped = Number(
      await waitFor(async () =>
        (await sbx.files.read('/tmp/stopped.pid').catch(() => '')).toString(),
      ),
    );
    const started = performance.now();
    await assert.rejects(sbx.pause(), (err: Error & { code?: string; details?: object }) => {
      assert.equal(err.code, 'checkpoint_failed');
      assert.match(
        err.message,
        new RegExp(
          `process ${stopped} \\(sleep\\) is stopped \\(SIGSTOP or Ctrl-Z\\).*Continue it \\(SIGCONT\\) and pause again\\. The sandbox keeps running\\.$`,
        ),
      );
      assert.deepEqual(err.details, { sandboxId: sbx.id, pid: stopped, comm: 'sleep' });
      return true;
    });
    // CRIU itself would wait out its 10 s seize timeout, twice with the engine's retry.
    assert.ok(performance.now() - started < 5000, 'refused without waiting for CRIU');
    assert.equal((await sbx.exec(`kill -CONT ${stopped}`)).exitCode, 0);
    await sbx.pause();
    await sbx.resume();
    assert.equal((await sbx.exec(`kill -0 ${stopped} && echo alive`)).stdout, 'alive\n');
  });

  it("refuses to pause over a deleted file larger than CRIU's ghost limit, with CRIU's reason, then pauses once it is closed", async () => {
    // 300 MiB allocated (not written) by fallocate, opened, deleted; a line on stdin closes it.
    const holder = await sbx.spawn(
      [
        'bash',
        '-c',
        'fallocate -l 300M /tmp/big && exec 3</tmp/big && rm /tmp/big && touch /tmp/holding && read -r _ && exec 3<&- && touch /tmp/closed && exec sleep 600',
      ],
      { stdin: true },
    );
    await waitFor(() => sbx.files.read('/tmp/holding').catch(() => undefined));
    await assert.rejects(sbx.pause(), (err: Error & { code?: string; details?: object }) => {
      assert.equal(err.code, 'checkpoint_failed');
      assert.match(
        err.message,
        new RegExp(
          `process ${holder} \\(bash\\) keeps a deleted file open \\(/tmp/big, 300 MiB\\), larger than the 256 MiB CRIU copies into a checkpoint\\..* The sandbox keeps running\\.$`,
        ),
      );
      assert.ok(
        (err.details as { criu: string[] }).criu.some((l) =>
          l.startsWith("Can't dump ghost file /tmp/big of 314572800 size"),
        ),
      );
      return true;
    });
    assert.equal(sbx.state, 'running');
    await sbx.processes.write(holder, 'close\n');
    await waitFor(() => sbx.files.read('/tmp/closed').catch(() => undefined));
    await sbx.pause();
    await sbx.resume();
    assert.equal((await sbx.exec('echo still here')).stdout, 'still here\n');
  });

  it('keeps a deleted temporary file below the limit, contents and all', async () => {
    // Python's tempfile.TemporaryFile is such a file; CRIU's own default limit is 1 MiB.
    const holder = await sbx.spawn([
      'bash',
      '-c',
      'head -c 3M /dev/urandom > /tmp/t && sha1sum < /tmp/t > /tmp/t.sum && exec 3</tmp/t && rm /tmp/t && exec sleep 600',
    ]);
    await waitFor(() => sbx.files.read('/tmp/t.sum').catch(() => undefined));
    await sbx.pause();
    await sbx.resume();
    const r = await sbx.exec(
      `sha1sum < /proc/${holder}/fd/3; cat /tmp/t.sum; ls -l /proc/${holder}/fd/3`,
    );
    const [now, then, link] = r.stdout.trim().split('\n');
    assert.equal(now, then);
    assert.match(link ?? '', /-> \/tmp\/t \(deleted\)$/);
  });
});
