import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BLOCKED_V4, cidrWithin } from './drivers/oci/egress-policy.ts';
import { CLAIM_DIR, type EgressNetwork } from './drivers/oci/network.ts';
import type { Sandbox } from './sandbox.ts';
import { testDataDir, useTestEngine, waitFor } from './testing/test-engine.ts';

// A test network of our own: a namespace with a TCP echo server on every address, joined to the
// host by a veth pair and routed from it. It stands for a machine on the internet (198.51.100.2)
// and one on a private network (10.213.0.2). Tests send traffic only there, to loopback and to
// the sandboxes' own networks.
const PEER_NS = `rt-test-peer-${process.pid}`;
const PEER_IF = `rtt${process.pid}`;
const PUBLIC_IP = '198.51.100.2';
const PRIVATE_IP = '10.213.0.2';
const PRIVATE_HOST_IP = '10.213.0.1';
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

// An echo server on every address of the sandbox that counts its connections in /tmp/hits.
const PERL_ECHO = `
use IO::Socket::INET;
my $s = IO::Socket::INET->new(LocalAddr => "0.0.0.0", LocalPort => 8080, Listen => 5, ReuseAddr => 1) or die;
while (my $c = $s->accept) {
  open(my $f, ">>", "/tmp/hits"); print $f "hit\\n"; close $f;
  my $l = <$c>; print $c $l; close $c;
}`;

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });
const quiet = (cmd: string, args: string[]) => {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
  } catch {}
};

/** From inside a sandbox: connect, send "ping", print the first line back, then `rc=`. */
// `seconds` bounds a connect that hangs (dropped traffic): short where the test expects a
// refusal, long where the answer comes at once and the bound only keeps a slow machine from being
// mistaken for a drop.
const tcp = (host: string, port: number, seconds = 60) =>
  `timeout ${seconds} bash -c 'exec 3<>/dev/tcp/${host}/${port} && echo ping >&3 && head -n1 <&3' 2>&1; echo rc=$?`;

/** True when a TCP connection from the host's own processes opens within `ms`. */
function hostConnects(host: string, port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: ms }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(false));
  });
}

/** The link-local address the kernel would give an interface with this MAC (EUI-64). */
function linkLocalOf(mac: string): string {
  const b = mac.split(':').map((x) => Number.parseInt(x, 16));
  const [b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0] = b;
  const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
  return `fe80::${hex(b0 ^ 2, b1)}:${hex(b2, 0xff)}:${hex(0xfe, b3)}:${hex(b4, b5)}`;
}

/**
 * An engine in another process on `dataDir` that creates two egress sandboxes at once, reports
 * their networks and whether they reached the public peer, and deletes them on `finish()`.
 */
function startOtherEngine(dataDir: string) {
  const engineUrl = new URL('./testing/test-engine.ts', import.meta.url).href;
  const script = `
    import { openTestEngine, assertNoLeaks } from ${JSON.stringify(engineUrl)};
    import { readFileSync } from 'node:fs';
    const engine = await openTestEngine(${JSON.stringify(dataDir)});
    const boxes = await Promise.all([1, 2].map(() =>
      engine.create({ template: 'debian-13', network: { mode: 'egress' } })));
    const nets = boxes.map((b) => JSON.parse(readFileSync(
      ${JSON.stringify(dataDir)} + '/sandboxes/' + b.id + '/network.json', 'utf8')));
    const reached = await Promise.all(boxes.map((b) => b.exec(${JSON.stringify(tcp(PUBLIC_IP, PEER_PORT))})));
    console.log(JSON.stringify({ nets, reached: reached.map((r) => r.stdout) }));
    await new Promise((r) => process.stdin.once('data', r).once('end', r));
    for (const b of boxes) await b.delete();
    await engine.close();
    assertNoLeaks(${JSON.stringify(dataDir)});
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((r) => child.once('close', r));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const result = waitFor(() => {
    const line = out.split('\n').find((l) => l.startsWith('{'));
    return line ? (JSON.parse(line) as { nets: EgressNetwork[]; reached: string[] }) : false;
  });
  return {
    result,
    finish: async () => {
      child.stdin.end('done\n');
      return exited;
    },
  };
}

describe('sandbox networking', () => {
  const t = useTestEngine('net');
  let peer: ReturnType<typeof spawn> | undefined;
  const indexes = new Set<number>();
  const otherDataDirs = [testDataDir('net-other'), testDataDir('net-third')];
  const operatorDataDir = testDataDir('net-operator');

  const netOf = (sbx: Sandbox): EgressNetwork => {
    const net = JSON.parse(
      readFileSync(join(t.dataDir, 'sandboxes', sbx.id, 'network.json'), 'utf8'),
    ) as EgressNetwork;
    indexes.add(net.index);
    return net;
  };

  before(async () => {
    const ip = (...a: string[]) => sh('ip', a);
    ip('netns', 'add', PEER_NS);
    ip('link', 'add', PEER_IF, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', PEER_NS);
    ip('addr', 'add', '198.51.100.1/30', 'dev', PEER_IF);
    ip('addr', 'add', `${PRIVATE_HOST_IP}/30`, 'dev', PEER_IF);
    ip('link', 'set', PEER_IF, 'up');
    ip('-n', PEER_NS, 'addr', 'add', `${PUBLIC_IP}/30`, 'dev', 'eth0');
    ip('-n', PEER_NS, 'addr', 'add', `${PRIVATE_IP}/30`, 'dev', 'eth0');
    ip('-n', PEER_NS, 'link', 'set', 'eth0', 'up');
    ip('-n', PEER_NS, 'link', 'set', 'lo', 'up');
    ip('-n', PEER_NS, 'route', 'add', 'default', 'via', '198.51.100.1');
    peer = spawn(
      'ip',
      [
        'netns',
        'exec',
        PEER_NS,
        process.execPath,
        '-e',
        `require('net').createServer(s => s.on('error', () => {}).pipe(s)).listen(${PEER_PORT})`,
      ],
      { stdio: 'ignore' },
    );
    // The echo server is listening once the host can connect to it.
    await waitFor(() => hostConnects(PUBLIC_IP, PEER_PORT, 5000), { intervalMs: 100 });
  });
  after(async () => {
    peer?.kill('SIGKILL');
    quiet('ip', ['link', 'del', PEER_IF]);
    quiet('ip', ['netns', 'del', PEER_NS]);
  });
  after(() => {
    // The other engines' directories (their engines remove them, if they ran).
    for (const dir of [...otherDataDirs, operatorDataDir])
      rmSync(dir, { recursive: true, force: true });
    // Every test disposes of its sandboxes: none of their networks is left.
    const claims = readdirSync(CLAIM_DIR).map((f) => readFileSync(join(CLAIM_DIR, f), 'utf8'));
    for (const dir of [t.dataDir, ...otherDataDirs, operatorDataDir]) {
      assert.deepEqual(
        claims.filter((owner) => owner.startsWith(dir)),
        [],
        'network claims left',
      );
    }
    // An index another engine on the host claimed since (a template build, a dev server) has
    // its chain and link for good reason: a claim is made before them and removed after them, so
    // one read of the claims on each side of reading the rules catches every such index.
    const claimed = () => new Set(readdirSync(CLAIM_DIR).map(Number));
    const before = claimed();
    const rules = sh('iptables', ['-S']);
    const links = sh('ip', ['-o', 'link']);
    const taken = new Set([...before, ...claimed()]);
    for (const index of indexes) {
      if (taken.has(index)) continue;
      assert.doesNotMatch(rules, new RegExp(`RUNTOOLS-SBX-${index}\\b`), `chain ${index} left`);
      assert.doesNotMatch(links, new RegExp(`rtsbx${index}[@:]`), `link ${index} left`);
    }
  });

  it('blocks all traffic with network none', async () => {
    await using sbx = await t.engine.create({ template: 'debian-13' });
    const r = await sbx.exec(tcp(PUBLIC_IP, PEER_PORT));
    assert.doesNotMatch(r.stdout, /^ping/m);
    assert.match(r.stdout, /unreachable/i);
  });

  it('reaches the internet through NAT, and a private range only when allowOut names it', async () => {
    await using open = await t.engine.create({
      template: 'debian-13',
      network: { mode: 'egress' },
    });
    netOf(open);
    const ok = await waitFor(async () => {
      const r = await open.exec(tcp(PUBLIC_IP, PEER_PORT));
      return /^ping$/m.test(r.stdout) ? r : undefined;
    });
    assert.match(ok.stdout, /rc=0/);
    // Refused at once (No route to host), not left to time out.
    const privateByDefault = await open.exec(tcp(PRIVATE_IP, PEER_PORT, 20));
    assert.match(privateByDefault.stdout, /No route to host/);

    await using opened = await t.engine.create({
      template: 'debian-13',
      network: { mode: 'egress', allowOut: [`${PRIVATE_IP}/30`] },
    });
    netOf(opened);
    assert.match((await opened.exec(tcp(PRIVATE_IP, PEER_PORT))).stdout, /^ping$/m);
    assert.doesNotMatch((await opened.exec(tcp(PUBLIC_IP, PEER_PORT, 20))).stdout, /^ping$/m);

    // "Anywhere" is the internet: it does not open private ranges.
    await using anywhere = await t.engine.create({
      template: 'debian-13',
      network: { mode: 'egress', allowOut: ['0.0.0.0/0'] },
    });
    netOf(anywhere);
    assert.match((await anywhere.exec(tcp(PUBLIC_IP, PEER_PORT))).stdout, /^ping$/m);
    assert.doesNotMatch((await anywhere.exec(tcp(PRIVATE_IP, PEER_PORT, 20))).stdout, /^ping$/m);
  });

  it('cannot reach the host, its IPv6 or other sandboxes, and nothing new reaches a sandbox', async () => {
    // Host listeners on every address, IPv4 and IPv6, counting what reaches them.
    let seen = 0;
    const count = (s: Server) =>
      s.on('connection', (c) => {
        seen++;
        c.destroy();
      });
    const v4 = count(createServer());
    await new Promise<void>((r) => v4.listen(0, '0.0.0.0', r));
    const port = (v4.address() as { port: number }).port;
    const v6 = count(createServer());
    await new Promise<void>((r) => v6.listen({ port, host: '::', ipv6Only: true }, r));
    try {
      await using b = await t.engine.create({ template: 'debian-13', network: { mode: 'egress' } });
      await using a = await t.engine.create({ template: 'debian-13', network: { mode: 'egress' } });
      const netA = netOf(a);
      const netB = netOf(b);
      await b.spawn(['perl', '-e', PERL_ECHO]);
      // b's server answers on b's own address (so a refusal below is the network's doing).
      await waitFor(async () => /^ping$/m.test((await b.exec(tcp(netB.sandboxIp, 8080))).stdout));
      const hits = async () => (await b.exec('cat /tmp/hits 2>/dev/null | wc -l')).stdout.trim();
      const hitsBefore = await hits();

      // No IPv6 on either end of a's link: only the sandbox's own loopback has an address.
      const hostSide = `/proc/sys/net/ipv6/conf/${netA.hostIf}/disable_ipv6`;
      assert.equal(readFileSync(hostSide, 'utf8').trim(), '1');
      assert.equal(sh('ip', ['-6', '-o', 'addr', 'show', 'dev', netA.hostIf]), '');
      const inet6 = (await a.exec('cat /proc/net/if_inet6')).stdout.trim().split('\n');
      assert.deepEqual(
        inet6.map((l) => l.split(/\s+/).at(-1)),
        ['lo'],
      );
      assert.equal((await a.exec('cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6')).stdout, '1\n');
      const gateway = (await a.exec('awk \'$2 == "00000000" {print $3}\' /proc/net/route')).stdout;
      assert.equal(gateway.trim().length, 8, 'has a default route');
      const [link] = JSON.parse(sh('ip', ['-j', 'link', 'show', 'dev', netA.hostIf])) as {
        address: string;
      }[];
      const mac = link?.address ?? '';

      const attempts: [string, number][] = [
        [netA.hostIp, port], // the host, through a's gateway
        [`${linkLocalOf(mac)}%eth0`, port], // the host side's link-local address, were it there
        ['ff02::1%eth0', port], // any IPv6 node on the link
        ['::1', port], // a's own loopback: the host's ::1 listener is not there
        [PRIVATE_HOST_IP, port], // another of the host's addresses
        [netB.sandboxIp, 8080], // the other sandbox
        [netB.hostIp, port], // the host, through b's gateway
      ];
      for (const [host, p] of attempts) {
        const r = await a.exec(tcp(host, p, 3));
        assert.doesNotMatch(r.stdout, /^ping$|rc=0/m, `${host} port ${p}: ${r.stdout}`);
      }
      // Nothing new reaches a sandbox: not from the host's own processes, not from its networks.
      assert.equal(await hostConnects(netB.sandboxIp, 8080, 3000), false);
      const fromPeer = execFileSync(
        'ip',
        ['netns', 'exec', PEER_NS, 'bash', '-c', `${tcp(netB.sandboxIp, 8080, 3)}`],
        { encoding: 'utf8' },
      );
      assert.doesNotMatch(fromPeer, /^ping$|rc=0/m);

      assert.equal(seen, 0, 'the host listeners saw nothing');
      assert.equal(await hits(), hitsBefore, 'the other sandbox saw nothing');
    } finally {
      v4.close();
      v6.close();
    }
  });

  it("resolves names through the host's resolvers, which it reaches for DNS only", async (ctx) => {
    const name = 'deb.debian.org';
    if (!(await lookup(name).catch(() => null))) {
      ctx.skip(`this host cannot resolve ${name} itself`);
      return;
    }
    await using sbx = await t.engine.create({
      template: 'debian-13',
      network: { mode: 'egress' },
    });
    netOf(sbx);
    const r = await sbx.exec(`getent hosts ${name}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^\\d+\\.\\d+\\.\\d+\\.\\d+\\s+${name}`, 'm'));
    const resolver = /^nameserver (\S+)/m.exec(
      (await sbx.exec('cat /etc/resolv.conf')).stdout,
    )?.[1];
    assert.ok(resolver);
    if (BLOCKED_V4.some((range) => cidrWithin(resolver, range))) {
      // A resolver at a private address is reachable on port 53 only.
      assert.match((await sbx.exec(tcp(resolver, 80, 20))).stdout, /No route to host/);
    }
  });

  it('gives engines on one host distinct networks when they start and create at the same time', async () => {
    // Two other engines, each a fresh process (as a second `runtools dev` or a server would be),
    // so that their host-wide setup races too; this process creates at the same time.
    const others = otherDataDirs.map((dir) => startOtherEngine(dir));
    const mine = await Promise.all(
      [1, 2].map(() => t.engine.create({ template: 'debian-13', network: { mode: 'egress' } })),
    );
    try {
      const theirs = await Promise.all(others.map((o) => o.result));
      const all = [...mine.map(netOf), ...theirs.flatMap((r) => r.nets)];
      for (const n of all) indexes.add(n.index);
      assert.equal(new Set(all.map((n) => n.index)).size, 6, 'six indexes');
      assert.equal(new Set(all.map((n) => n.sandboxIp)).size, 6, 'six addresses');
      for (const r of theirs.flatMap((x) => x.reached)) assert.match(r, /^ping$/m);
      for (const sbx of mine) {
        assert.match((await sbx.exec(tcp(PUBLIC_IP, PEER_PORT))).stdout, /^ping$/m);
      }
      // Their setup ran at the same time and added each jump once.
      const jumps = (table: string, chain: string) =>
        sh('iptables', ['-t', table, '-S'])
          .split('\n')
          .filter((l) => l.endsWith(`-j ${chain}`));
      assert.equal(jumps('filter', 'RUNTOOLS-USER').length, 1);
      assert.equal(jumps('filter', 'RUNTOOLS-FORWARD').length, 1);
      assert.equal(jumps('filter', 'RUNTOOLS-INPUT').length, 1);
      assert.equal(jumps('nat', 'RUNTOOLS-POSTROUTING').length, 1);
    } finally {
      for (const code of await Promise.all(others.map((o) => o.finish()))) {
        assert.equal(code, 0, 'the other engine cleaned up');
      }
      for (const sbx of mine) await sbx.delete();
    }
  });

  it("runs the operator's RUNTOOLS-USER rules first and leaves them in place", async () => {
    await using sbx = await t.engine.create({ template: 'debian-13', network: { mode: 'egress' } });
    netOf(sbx);
    const forward = sh('iptables', ['-S', 'FORWARD']).split('\n');
    const user = forward.indexOf('-A FORWARD -j RUNTOOLS-USER');
    assert.ok(user >= 0 && user < forward.indexOf('-A FORWARD -j RUNTOOLS-FORWARD'), 'user first');
    // The operator refuses the public peer to every sandbox.
    const rule = ['RUNTOOLS-USER', '-i', 'rtsbx+', '-d', PUBLIC_IP, '-j', 'REJECT'];
    sh('iptables', ['-A', ...rule]);
    try {
      assert.match((await sbx.exec(tcp(PUBLIC_IP, PEER_PORT, 20))).stdout, /refused/i);
      // Another engine process sets the host up again: the rule stays, and holds for its sandboxes.
      const other = startOtherEngine(operatorDataDir);
      const { nets, reached } = await other.result.catch(async (err) => {
        await other.finish();
        throw err;
      });
      for (const n of nets) indexes.add(n.index);
      assert.equal(await other.finish(), 0, 'the other engine cleaned up');
      for (const r of reached) assert.match(r, /refused/i);
      sh('iptables', ['-C', ...rule]);
    } finally {
      sh('iptables', ['-D', ...rule]);
    }
  });

  it('keeps its network and its connections out across a pause, or gets a new index', async () => {
    await using sbx = await t.engine.create({ template: 'debian-13', network: { mode: 'egress' } });
    const net = netOf(sbx);
    // A connection to the outside, open while the sandbox pauses: the network is back before
    // CRIU restores the socket (runc's hook), so it carries on.
    const talker = await sbx.spawn([
      'bash',
      '-c',
      `exec 3<>/dev/tcp/${PUBLIC_IP}/${PEER_PORT}; while [ ! -e /tmp/stop ]; do echo hi >&3; read -r l <&3; echo "$l" >> /tmp/log; sleep 0.05; done`,
    ]);
    const lines = async () => Number((await sbx.exec('cat /tmp/log 2>/dev/null | wc -l')).stdout);
    await waitFor(async () => (await lines()) >= 2);
    await sbx.pause();
    await sbx.resume();
    assert.deepEqual(netOf(sbx), net, 'kept while paused');
    const after = await lines();
    await waitFor(async () => (await lines()) >= after + 3);
    assert.match((await sbx.exec(tcp(PUBLIC_IP, PEER_PORT))).stdout, /^ping$/m);
    // As after a host reboot: the claim and rules are gone, and another sandbox takes the index.
    // The talker is still there, its socket bound to the old address.
    assert.equal((await sbx.exec(`kill -0 ${talker}`)).exitCode, 0, 'the talker is alive');
    await sbx.pause();
    const chain = `RUNTOOLS-SBX-${net.index}`;
    quiet('iptables', ['-D', 'RUNTOOLS-EGRESS', '-i', net.hostIf, '-j', chain]);
    quiet('iptables', ['-F', chain]);
    quiet('iptables', ['-X', chain]);
    rmSync(join(CLAIM_DIR, String(net.index)));
    await using other = await t.engine.create({
      template: 'debian-13',
      network: { mode: 'egress' },
    });
    assert.equal(netOf(other).index, net.index, 'the lowest free index is reused');
    // The sandbox keeps its old address beside the new one, so the talker's socket can be
    // restored (its traffic is refused: not its address any more) and the resume succeeds.
    await sbx.resume();
    const moved = netOf(sbx);
    assert.notEqual(moved.index, net.index);
    assert.deepEqual(moved.formerIps, [net.sandboxIp]);
    assert.match((await sbx.exec(tcp(PUBLIC_IP, PEER_PORT))).stdout, /^ping$/m);
    assert.match((await other.exec(tcp(PUBLIC_IP, PEER_PORT))).stdout, /^ping$/m);
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
