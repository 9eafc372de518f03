import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { useTestEngine, waitFor } from './testing/test-engine.ts';

// A test host of our own: a network namespace with a TCP echo server, reachable from the host
// through a veth pair. Only its address (in 10.204.0.0/30) is ever used as a destination.
const PEER_NS = `rt-test-peer-${process.pid}`;
const PEER_IP = '10.204.0.2';
const PEER_PORT = 7007;

const PERL_HTTP = `
use IO::Socket::INET;
my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 8080, Listen => 5, ReuseAddr => 1) or die;
while (my $c = $s->accept) {
  my $req = <$c>;
  my $body = "hello from the sandbox: $req";
  print $c "HTTP/1.1 200 OK\\r\\nContent-Length: " . length($body) . "\\r\\nConnection: close\\r\\n\\r\\n$body";
  close $c;
}`;

describe('sandbox networking', () => {
  const t = useTestEngine('net');
  let peer: ReturnType<typeof spawn> | undefined;

  before(async () => {
    const ip = (...a: string[]) => execFileSync('ip', a);
    ip('netns', 'add', PEER_NS);
    ip('link', 'add', 'rttest0', 'type', 'veth', 'peer', 'name', 'rttest1', 'netns', PEER_NS);
    ip('addr', 'add', '10.204.0.1/30', 'dev', 'rttest0');
    ip('link', 'set', 'rttest0', 'up');
    ip('-n', PEER_NS, 'addr', 'add', `${PEER_IP}/30`, 'dev', 'rttest1');
    ip('-n', PEER_NS, 'link', 'set', 'rttest1', 'up');
    ip('-n', PEER_NS, 'link', 'set', 'lo', 'up');
    ip('-n', PEER_NS, 'route', 'add', 'default', 'via', '10.204.0.1');
    peer = spawn(
      'ip',
      [
        'netns',
        'exec',
        PEER_NS,
        process.execPath,
        '-e',
        `require('net').createServer(s => s.pipe(s)).listen(${PEER_PORT}, '${PEER_IP}')`,
      ],
      { stdio: 'ignore' },
    );
    // The echo server is listening once the host can connect to it.
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const s = connect(PEER_PORT, PEER_IP, () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        }),
      { intervalMs: 100 },
    );
  });
  after(async () => {
    if (peer?.pid) process.kill(peer.pid, 'SIGKILL');
    execFileSync('ip', ['link', 'del', 'rttest0'], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'del', PEER_NS], { stdio: 'ignore' });
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    assert.doesNotMatch(left, /rt-n\d+/, 'sandbox network namespaces left');
  });

  // `seconds` bounds a connect that hangs (dropped traffic): short where the test expects the drop,
  // long where the answer (a reply, or an immediate refusal) comes at once and the bound only
  // keeps a slow machine from being mistaken for a drop.
  const tcp = (host: string, port: number, seconds = 60) =>
    `timeout ${seconds} bash -c 'exec 3<>/dev/tcp/${host}/${port} && echo ping >&3 && head -n1 <&3' 2>&1; echo rc=$?`;

  it('blocks all traffic with network none', async () => {
    await using sbx = await t.engine.create({ template: 'debian-13' });
    const r = await sbx.exec(tcp(PEER_IP, PEER_PORT));
    assert.doesNotMatch(r.stdout, /^ping/m);
    assert.match(r.stdout, /unreachable/i);
  });

  it('reaches out through NAT with network egress, within its allowlist', async () => {
    await using open = await t.engine.create({
      template: 'debian-13',
      network: { mode: 'egress' },
    });
    const ok = await waitFor(async () => {
      const r = await open.exec(tcp(PEER_IP, PEER_PORT));
      return /^ping$/m.test(r.stdout) ? r : undefined;
    });
    assert.match(ok.stdout, /rc=0/);
    await using allowed = await t.engine.create({
      template: 'debian-13',
      network: { mode: 'egress', allowOut: ['10.204.0.0/30'] },
    });
    assert.match((await allowed.exec(tcp(PEER_IP, PEER_PORT))).stdout, /^ping$/m);
    await using denied = await t.engine.create({
      template: 'debian-13',
      network: { mode: 'egress', allowOut: ['192.0.2.0/24'] },
    });
    assert.doesNotMatch((await denied.exec(tcp(PEER_IP, PEER_PORT, 3))).stdout, /^ping$/m);
  });

  it('cannot reach the host or other sandboxes from egress', async () => {
    await using a = await t.engine.create({ template: 'debian-13', network: { mode: 'egress' } });
    const gw = (await a.exec('awk \'$2 == "00000000" {print $3}\' /proc/net/route')).stdout.trim();
    assert.ok(gw, 'has a default route');
    // Any host service on the gateway address is refused (dropped: the connect times out).
    const r = await a.exec(tcp('10.203.0.1', 22, 3));
    assert.doesNotMatch(r.stdout, /rc=0/);
  });

  it('proxies TCP and HTTP to a port inside the sandbox, even with network none', async () => {
    await using sbx = await t.engine.create({ template: 'debian-13' });
    await assert.rejects(sbx.ports.connect(8080), { code: 'port_unreachable' });
    await sbx.spawn(['perl', '-e', PERL_HTTP]);
    const exposed = await sbx.ports.expose(8080);
    const body = await waitFor(async () => {
      const res = await fetch(`${exposed.url}/hello`).catch(() => null);
      return res?.ok ? res.text() : undefined;
    });
    assert.equal(body, 'hello from the sandbox: GET /hello HTTP/1.1\r\n');
    // A connection open when the sandbox pauses is closed first, both ends (CRIU cannot dump a
    // socket whose peer is gone), and the pause succeeds.
    const open = await sbx.ports.connect(8080);
    const closed = new Promise<void>((resolve) => open.once('close', () => resolve()));
    // A paused sandbox is resumed by the next connection.
    await sbx.pause();
    await closed;
    const res = await fetch(`${exposed.url}/again`);
    assert.equal(await res.text(), 'hello from the sandbox: GET /again HTTP/1.1\r\n');
    assert.equal(sbx.state, 'running');
    await exposed.close();
  });
});
