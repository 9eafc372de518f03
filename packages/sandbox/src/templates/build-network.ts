import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { basename, join } from 'node:path';
import {
  CLAIM_DIR,
  type EgressNetwork,
  egressFor,
  sandboxResolvConf,
  setupEgress,
  teardownEgress,
} from '../drivers/oci/network.ts';
import { isAlive } from '../host/is-alive.ts';

/**
 * The network of a template build: a namespace of its own, joined to the host the way an egress
 * sandbox is and under the same policy (the internet yes; the host, other sandboxes and private
 * ranges no). It is the only place the template code touches the engine's egress networking.
 *
 * Package endpoints the operator configured on the host's loopback (a local pip index or npm
 * registry, `http://127.0.0.1:4873/`) are forwarded into the namespace on the same address and
 * port, through a unix socket: the build reaches exactly those ports, nothing else of the host.
 */
export interface BuildNetwork extends AsyncDisposable {
  /** The network namespace to join (`/run/netns/...`). */
  netnsPath: string;
  /** A resolv.conf naming the host's upstream resolvers, to bind over the build's own. */
  resolvConf: string;
  /** The same resolvers' addresses. */
  nameservers: string[];
}

/** Where build networks keep their resolv.conf and forwarding sockets (root's only). */
const RUN_DIR = '/run/runtools-build';
/** How a build names itself as the owner of its network's claim: `runtools-build:<pid>:<id>`. */
const OWNER_PREFIX = 'runtools-build:';

/** Opens a build network; dispose it (`await using`) to remove it. */
export async function openBuildNetwork(forward: readonly string[] = []): Promise<BuildNetwork> {
  await mkdir(RUN_DIR, { recursive: true, mode: 0o700 });
  await sweepDeadBuilds();
  const dir = await mkdtemp(join(RUN_DIR, 'net-'));
  const owner = `${OWNER_PREFIX}${process.pid}:${basename(dir)}`;
  let net: EgressNetwork;
  try {
    net = await setupEgress(owner, undefined);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const forwarders: Array<() => Promise<void>> = [];
  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    for (const stop of forwarders.splice(0)) await stop().catch(() => {});
    await teardownEgress(net, owner).catch(() => {});
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  };
  try {
    const netnsPath = `/run/netns/${net.netns}`;
    const resolvConf = join(dir, 'resolv.conf');
    const text = await sandboxResolvConf(net);
    await writeFile(resolvConf, text, { mode: 0o644 });
    const nameservers = [...text.matchAll(/^nameserver\s+(\S+)/gm)].map((m) => m[1] as string);
    for (const target of loopbackEndpoints(forward)) {
      forwarders.push(await forwardIntoNetns(netnsPath, target, join(dir, `${target.port}.sock`)));
    }
    return { netnsPath, resolvConf, nameservers, [Symbol.asyncDispose]: dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** Removes the networks of builds whose process died (a crash or a kill mid-build). */
async function sweepDeadBuilds(): Promise<void> {
  for (const name of await readdir(CLAIM_DIR).catch(() => [] as string[])) {
    const index = Number(name);
    if (!Number.isInteger(index) || index <= 0) continue;
    const owner = await readFile(join(CLAIM_DIR, name), 'utf8').catch(() => '');
    const pid = Number(/^runtools-build:(\d+):/.exec(owner)?.[1]);
    if (!pid || isAlive(pid)) continue;
    await teardownEgress(egressFor(index), owner).catch(() => {});
    const stale = owner.slice(owner.lastIndexOf(':') + 1);
    if (/^net-[\w]+$/.test(stale)) await rm(join(RUN_DIR, stale), { recursive: true, force: true });
  }
}

interface Endpoint {
  host: string;
  port: number;
}

/** The configured URLs whose host is the host's loopback, one per port. */
function loopbackEndpoints(urls: readonly string[]): Endpoint[] {
  const out = new Map<number, Endpoint>();
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      continue;
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (host !== 'localhost' && !/^127\./.test(host) && host !== '::1') continue;
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    out.set(port, { host: host === 'localhost' ? '127.0.0.1' : host, port });
  }
  return [...out.values()];
}

/**
 * `target` on the host's loopback, reachable at the same address inside the namespace: a
 * listener inside (a small Node process that only joined the namespace, nothing else) passes each
 * connection through a unix socket to this process, which connects to the target.
 */
async function forwardIntoNetns(
  netnsPath: string,
  target: Endpoint,
  socketPath: string,
): Promise<() => Promise<void>> {
  const server: Server = createServer((inner) => {
    const outer = connect(target.port, target.host);
    inner.pipe(outer).pipe(inner);
    inner.on('error', () => outer.destroy());
    outer.on('error', () => inner.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  const script = `
const net = require('node:net');
const [port, host, sock] = process.argv.slice(1);
net.createServer((c) => {
  const u = net.connect(sock);
  c.pipe(u).pipe(c);
  c.on('error', () => u.destroy());
  u.on('error', () => c.destroy());
}).listen(Number(port), host, () => process.stdout.write('ready\\n'));
process.stdin.on('end', () => process.exit(0)).resume();
`;
  const child = spawn(
    'nsenter',
    [
      `--net=${netnsPath}`,
      '--',
      process.execPath,
      '-e',
      script,
      String(target.port),
      target.host,
      socketPath,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const stop = async () => {
    child.kill('SIGKILL');
    await new Promise<void>((r) => server.close(() => r()));
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error('no answer in 10 s')), 10_000);
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        err += d;
      });
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        if (d.includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`exited (${code}): ${err.trim().slice(-500)}`));
      });
    });
  } catch (err) {
    await stop();
    throw new Error(
      `forwarding ${target.host}:${target.port} into the build network failed: ${(err as Error).message}`,
    );
  }
  return stop;
}
