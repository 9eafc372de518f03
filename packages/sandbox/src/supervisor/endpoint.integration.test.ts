import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Sandbox } from '../sandbox.ts';
import { useTestEngine, waitFor } from '../testing/test-engine.ts';

/** A TCP server inside the sandbox that answers every connection with the sandbox's host name. */
const NAME_SERVER = [
  'python3',
  '-c',
  [
    'import os, socket',
    's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
    "s.bind(('127.0.0.1', 7000)); s.listen()",
    'while True:',
    '    c, _ = s.accept(); c.sendall(os.uname().nodename.encode()); c.close()',
  ].join('\n'),
];

/** Connects to port 7000 of the sandbox through the engine and returns what the server said. */
async function nameThroughPort(sbx: Sandbox): Promise<string> {
  const socket = await sbx.ports.connect(7000);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

const hostName = (sbx: Sandbox) => sbx.id.replace(/_/g, '-');

describe('supervisor socket', () => {
  const t = useTestEngine('endpoint');
  const hostSocket = join('/var/tmp', `rt-host-listener-${process.pid}.sock`);
  let hostConnections = 0;
  let host: net.Server;
  let a: Sandbox;
  let b: Sandbox;

  before(async () => {
    host = net.createServer((c) => {
      hostConnections++;
      c.destroy();
    });
    await new Promise<void>((resolve) => host.listen(hostSocket, resolve));
    [a, b] = await Promise.all([
      t.engine.create({ template: 'debian-13' }),
      t.engine.create({ template: 'debian-13' }),
    ]);
    for (const sbx of [a, b]) {
      await sbx.spawn(NAME_SERVER);
      // Up once the relay reaches it (connections before that are refused).
      await waitFor(() => nameThroughPort(sbx).catch(() => ''));
    }
  });
  after(async () => {
    await new Promise((r) => host.close(r));
    rmSync(hostSocket, { force: true });
  });

  it('refuses a symlink put in its place, to another sandbox’s socket or to a host socket', async () => {
    const bSocket = join(t.dataDir, 'sandboxes', b.id, 'run', 'sup.sock');
    for (const target of [bSocket, hostSocket]) {
      await a.exec(['ln', '-sfn', target, '/.rt/run/sup.sock']);
      assert.equal((await a.exec('readlink /.rt/run/sup.sock')).stdout.trim(), target);
      // A fresh connection (each port connection is one) reaches a's own rt-init or nothing:
      // the engine refuses the link and has rt-init listen afresh.
      assert.equal(await nameThroughPort(a), hostName(a));
      assert.equal((await a.exec('test -S /.rt/run/sup.sock && echo socket')).stdout, 'socket\n');
    }
    assert.equal(hostConnections, 0, 'the host socket was never connected to');
    // So does a new engine, which connects to every sandbox afresh.
    await a.exec(['ln', '-sfn', bSocket, '/.rt/run/sup.sock']);
    await t.restart();
    const again = t.engine.get(a.id);
    assert.equal((await again.exec('hostname')).stdout.trim(), hostName(a));
    a = again;
    b = t.engine.get(b.id);
  });

  it('refuses a socket that another process in the sandbox listens on', async () => {
    // A process in the sandbox replaces rt-init's socket with its own listener.
    await a.spawn([
      'python3',
      '-c',
      [
        'import os, socket',
        "p = '/.rt/run/sup.sock'; os.unlink(p)",
        's = socket.socket(socket.AF_UNIX); s.bind(p); s.listen()',
        "open('/root/fake-ready', 'w').close()",
        'while True:',
        '    c, _ = s.accept()',
        "    open('/root/fake-bytes', 'a').write(str(len(c.recv(65536))) + '\\n'); c.close()",
      ].join('\n'),
    ]);
    await waitFor(() => a.files.exists('/root/fake-ready'));
    assert.equal(await nameThroughPort(a), hostName(a));
    // The engine had to connect to ask the kernel who listens, and hung up without a byte.
    const got = await waitFor(() => a.files.readText('/root/fake-bytes').catch(() => ''));
    assert.deepEqual(got.trim().split('\n'), ['0'], 'the fake listener got no request');
    assert.equal((await b.exec('hostname')).stdout.trim(), hostName(b));
  });
});
