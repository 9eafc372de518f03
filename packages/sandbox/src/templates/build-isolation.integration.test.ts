import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RunToolsError } from '@runtools/sdk/errors';
import { TEST_TEMPLATES_DIR } from '../testing/test-engine.ts';
import { TemplateStore } from './template-store.ts';

/*
 * A template's author must not own the host: every build step (a Dockerfile's RUN, a spec's
 * install scripts) runs as the sandbox's root in namespaces of its own, with the sandboxes'
 * egress policy. Each attack below fails at its step, with the step's output in the error and
 * the log, and leaves the host as it was.
 */

/** The host's own non-loopback IPv4 addresses (a build must not reach them either). */
function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal)
    .map((a) => (a as { address: string }).address);
}

type BuildError = RunToolsError & { details: { step?: string; output?: string } };

async function buildFails(p: Promise<unknown>): Promise<BuildError> {
  try {
    await p;
  } catch (err) {
    assert.ok(RunToolsError.isInstance(err), `expected a RunToolsError, got ${String(err)}`);
    assert.equal(err.code, 'template_build_failed', err.message);
    return err as BuildError;
  }
  assert.fail('the build succeeded');
}

describe('template builds run isolated from the host', () => {
  const store = new TemplateStore({ dir: TEST_TEMPLATES_DIR, idBase: 100_000 });
  const slug = `rt-test-iso-${process.pid}`;
  // Host-only things the builds go after.
  const hostDir = mkdtempSync('/var/tmp/rt-iso-host-');
  const secret = join(hostDir, 'secret');
  const secretText = randomBytes(16).toString('hex');
  let listener: Server | ReturnType<typeof createTcpServer>;
  let port = 0;
  let connections = 0;

  before(async () => {
    writeFileSync(secret, secretText, { mode: 0o644 });
    const tcp = createTcpServer((s) => {
      connections++;
      s.destroy();
    });
    // Every address: the host's loopback and its other interfaces.
    await new Promise<void>((r) => tcp.listen(0, '0.0.0.0', () => r()));
    listener = tcp;
    port = (tcp.address() as AddressInfo).port;
  });
  after(async () => {
    listener?.close();
    for (const s of [`${slug}-df`, `${slug}-pip`]) {
      await store.delete(s, new Set()).catch(() => {});
    }
    rmSync(hostDir, { recursive: true, force: true });
  });

  /** What must hold after every attack: the host file as it was, nothing new beside it, no connection. */
  function assertHostUnchanged(): void {
    assert.equal(readFileSync(secret, 'utf8'), secretText);
    assert.deepEqual(readdirSync(hostDir), ['secret']);
    assert.equal(connections, 0, 'a build step connected to the host');
  }

  it('a Dockerfile RUN cannot read host files, reach host services, see host processes or write outside its root', async () => {
    const perlEscape =
      // The classic chroot escape: as root in a chroot, chroot into a subdir and walk up.
      `perl -e 'mkdir "/x"; chroot "/x" or die "chroot: $!"; chdir ".." for 1..64; chroot "." or die "chroot: $!"; ` +
      `open(my $f, ">", "${hostDir}/pwned") or die "cannot write outside the root: $!\\n"; print $f "pwned"'`;
    const attacks: Array<{ name: string; run: string; output: RegExp }> = [
      {
        name: 'read a host file',
        run: `cat ${secret} /proc/1/root${secret}`,
        output: /No such file or directory/,
      },
      {
        name: 'connect to the host',
        run: [`127.0.0.1`, ...hostAddresses()]
          .map((ip) => `timeout 5 bash -c 'echo hi > /dev/tcp/${ip}/${port}' && echo reached-${ip}`)
          .join(' || ')
          .concat(' || exit 7'),
        output: /Connection refused|Network is unreachable|No route to host/,
      },
      {
        name: 'see host processes',
        run: `ls /proc/${process.pid} && cat /proc/${process.pid}/cmdline`,
        output: new RegExp(`/proc/${process.pid}.*No such file or directory`),
      },
      { name: 'write outside its root', run: perlEscape, output: /cannot write outside the root/ },
    ];
    for (const attack of attacks) {
      const log: string[] = [];
      const run = `echo trying to ${attack.name} && ${attack.run}`;
      const err = await buildFails(
        store.build(
          { kind: 'dockerfile', slug: `${slug}-df`, dockerfile: `FROM debian-13\nRUN ${run}\n` },
          { onLog: (l) => log.push(l) },
        ),
      );
      assert.equal(err.details.step, `RUN ${run}`, attack.name);
      assert.match(err.message, new RegExp(`trying to ${attack.name}`));
      assert.match(err.message, attack.output, attack.name);
      assert.ok(
        log.some((l) => l === `trying to ${attack.name}`),
        `the step's output is in the log:\n${log.join('\n')}`,
      );
      assert.ok(!log.some((l) => /^reached-|can't raise ambient/.test(l)), log.join('\n'));
      assertHostUnchanged();
    }
    // As the sandbox's root: uid 0 inside is the sandbox range's first uid on the host.
    const info = await store.build({
      kind: 'dockerfile',
      slug: `${slug}-df`,
      dockerfile: 'FROM debian-13\nRUN cat /proc/self/uid_map > /uid_map && hostname > /hostname\n',
    });
    assert.deepEqual(readFileSync(join(info.rootfs, 'uid_map'), 'utf8').trim().split(/\s+/), [
      '0',
      '100000',
      '65536',
    ]);
    assert.notEqual(
      readFileSync(join(info.rootfs, 'hostname'), 'utf8').trim(),
      execFileSync('hostname', { encoding: 'utf8' }).trim(),
    );
  });

  it("a spec's install scripts (a pip package's build backend) cannot read host files, reach host services or see host processes", async () => {
    const index = await servePipIndex(
      hostDir,
      // An in-tree PEP 517 backend: pip runs it as the first thing it does with the sdist.
      [
        'import os, socket',
        'def get_requires_for_build_wheel(config_settings=None):',
        '    print("probe: running the build backend", flush=True)',
        '    try:',
        `        print("LEAK read", open(${JSON.stringify(secret)}).read(), flush=True)`,
        '    except OSError as e:',
        '        print("probe: cannot read the host file:", e, flush=True)',
        '    try:',
        `        socket.create_connection(("127.0.0.1", ${port}), timeout=5)`,
        '        print("LEAK connected", flush=True)',
        '    except OSError as e:',
        '        print("probe: cannot connect to the host:", e, flush=True)',
        `    print("probe: host pid visible:", os.path.exists("/proc/${process.pid}"), flush=True)`,
        '    raise SystemExit("probe: done")',
      ].join('\n'),
    );
    try {
      // Its own store: the pip index is on the host's loopback, forwarded into the build.
      const pipStore = new TemplateStore({
        dir: TEST_TEMPLATES_DIR,
        idBase: 100_000,
        pipIndexUrl: index.url,
      });
      const log: string[] = [];
      const err = await buildFails(
        pipStore.build(
          { kind: 'spec', spec: { slug: `${slug}-pip`, os: 'debian-13', pip: ['rtprobe'] } },
          { onLog: (l) => log.push(l) },
        ),
      );
      assert.equal(err.details.step, 'pip install rtprobe');
      const output = err.details.output ?? '';
      assert.match(output, /probe: running the build backend/);
      assert.match(output, /probe: cannot read the host file: .*No such file or directory/);
      assert.match(output, /probe: cannot connect to the host: .*(refused|unreachable)/i);
      assert.match(output, /probe: host pid visible: False/);
      assert.doesNotMatch(log.join('\n'), /LEAK/);
      assert.ok(log.some((l) => l.includes('probe: running the build backend')));
      assertHostUnchanged();
    } finally {
      index.server.close();
    }
  });
});

/** A PEP 503 index on the host's loopback serving one sdist, `rtprobe`, whose build backend is `backend`. */
async function servePipIndex(
  dir: string,
  backend: string,
): Promise<{ server: Server; url: string }> {
  const src = join(dir, 'src', 'rtprobe-0.1.0');
  mkdirSync(src, { recursive: true });
  writeFileSync(
    join(src, 'pyproject.toml'),
    '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n',
  );
  writeFileSync(join(src, 'backend.py'), `${backend}\n`);
  writeFileSync(join(src, 'PKG-INFO'), 'Metadata-Version: 2.1\nName: rtprobe\nVersion: 0.1.0\n');
  const sdist = join(dir, 'rtprobe-0.1.0.tar.gz');
  execFileSync('tar', ['-czf', sdist, '-C', join(dir, 'src'), 'rtprobe-0.1.0']);
  rmSync(join(dir, 'src'), { recursive: true });
  const bytes = readFileSync(sdist);
  rmSync(sdist);
  const sha = createHash('sha256').update(bytes).digest('hex');
  const file = 'rtprobe-0.1.0.tar.gz';
  const server = createServer((req, res) => {
    if (req.url === '/simple/rtprobe/') {
      res.setHeader('content-type', 'text/html');
      res.end(`<html><body><a href="/files/${file}#sha256=${sha}">${file}</a></body></html>`);
    } else if (req.url === `/files/${file}`) {
      res.end(bytes);
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/simple/` };
}
