import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TEST_TEMPLATES_DIR, useTestEngine } from '../testing/test-engine.ts';
import { TemplateStore } from './template-store.ts';

/** Builds a pure-Python wheel with the host's python3 (PyPI is not reachable here). */
function buildWheel(dir: string): string {
  const name = 'rttestpkg-0.1.0-py3-none-any.whl';
  execFileSync('python3', [
    '-c',
    `
import base64, hashlib, zipfile, sys
files = {
  'rttestpkg/__init__.py': 'VALUE = 42\\n',
  'rttestpkg-0.1.0.dist-info/METADATA': 'Metadata-Version: 2.1\\nName: rttestpkg\\nVersion: 0.1.0\\n',
  'rttestpkg-0.1.0.dist-info/WHEEL': 'Wheel-Version: 1.0\\nGenerator: runtools-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',
}
record = []
for path, text in files.items():
    data = text.encode()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
    record.append(f'{path},sha256={digest},{len(data)}')
record.append('rttestpkg-0.1.0.dist-info/RECORD,,')
files['rttestpkg-0.1.0.dist-info/RECORD'] = '\\n'.join(record) + '\\n'
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    for path, text in files.items():
        z.writestr(path, text)
`,
    join(dir, name),
  ]);
  return name;
}

/** A PEP 503 "simple" index on loopback serving the one wheel. */
async function serveIndex(dir: string, wheel: string): Promise<{ server: Server; url: string }> {
  const bytes = readFileSync(join(dir, wheel));
  const sha = createHash('sha256').update(bytes).digest('hex');
  const server = createServer((req, res) => {
    if (req.url === '/simple/rttestpkg/') {
      res.setHeader('content-type', 'text/html');
      res.end(`<html><body><a href="/files/${wheel}#sha256=${sha}">${wheel}</a></body></html>`);
    } else if (req.url === `/files/${wheel}`) {
      res.end(bytes);
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/simple/` };
}

describe('spec templates', () => {
  const t = useTestEngine('spectpl');
  const work = mkdtempSync('/var/tmp/rt-spec-');
  let index: { server: Server; url: string };
  let store: TemplateStore;
  const slug = `rt-test-spec-${process.pid}`;

  before(async () => {
    index = await serveIndex(work, buildWheel(work));
    store = new TemplateStore({ dir: TEST_TEMPLATES_DIR, idBase: 100_000, pipIndexUrl: index.url });
  });
  after(async () => {
    index?.server.close();
    for (const s of [slug, `${slug}-v`, `${slug}-bad`]) {
      await store.delete(s, new Set()).catch(() => {});
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('builds a spec with a runtime version from npm, apt, npm and pip packages, env and a start command', async () => {
    const log: string[] = [];
    const spec = {
      slug,
      os: 'debian-13' as const,
      runtimes: [{ name: 'node', version: '22' }],
      apt: ['jq'],
      npm: ['left-pad@1.3.0'],
      pip: ['rttestpkg'],
      env: { FOO: 'bar', HOME: '/root' },
      startCmd: 'mkdir -p /run/svc && echo up > /run/svc/state && sleep 100000',
      readyCmd: 'test -f /run/svc/state',
    };
    const info = await store.build({ kind: 'spec', spec }, { onLog: (l) => log.push(l) });
    assert.ok(log.length > 20, 'the build log streamed line by line');
    assert.ok(log.some((l) => l.includes('runtools step: npm install -g node@22')));
    assert.match(info.versions.node ?? '', /^22\./);

    await using sbx = await t.engine.create({ template: slug });
    assert.equal(sbx.info().templateVersion, info.version);
    const r = await sbx.exec(
      'node --version; echo \'{"a":1}\' | jq .a; npm ls -g --depth=0 left-pad | grep -c left-pad; python3 -c "import rttestpkg; print(rttestpkg.VALUE)"; echo $FOO; cat /run/svc/state',
    );
    assert.equal(r.exitCode, 0, r.stderr);
    const [node, ...rest] = r.stdout.trim().split('\n');
    assert.match(node ?? '', /^v22\./);
    assert.deepEqual(rest, ['1', '1', '42', 'bar', 'up']);

    // The same definition again is a cache hit: same version, no rebuild.
    const t0 = Date.now();
    const again = await store.build({ kind: 'spec', spec });
    assert.equal(again.version, info.version);
    assert.ok(Date.now() - t0 < 2000);
  });

  it('versions rebuilds: sandboxes keep theirs, unused old versions are removed', async () => {
    const v = `${slug}-v`;
    const one = await store.build({
      kind: 'spec',
      spec: { slug: v, os: 'debian-13', env: { V: '1' } },
    });
    const sbx = await t.engine.create({ template: v });
    const two = await store.build({
      kind: 'spec',
      spec: { slug: v, os: 'debian-13', env: { V: '2' } },
    });
    assert.notEqual(one.version, two.version);
    assert.equal((await sbx.exec('echo $V')).stdout, '1\n');
    await using fresh = await t.engine.create({ template: v });
    assert.equal((await fresh.exec('echo $V')).stdout, '2\n');
    assert.deepEqual(
      (await store.versions(v)).map((i) => i.version).sort(),
      [one.version, two.version].sort(),
    );
    await sbx.delete();
    await t.engine.collectTemplates();
    assert.deepEqual(
      (await store.versions(v)).map((i) => i.version),
      [two.version],
    );
  });

  it('refuses bad specs with typed errors and leaves nothing half-built', async () => {
    const bad = `${slug}-bad`;
    const good = await store.build({ kind: 'spec', spec: { slug: bad, os: 'debian-13' } });
    // A mirror nobody answers on (a closed loopback port): a clear error naming it, at once.
    const offline = new TemplateStore({
      dir: TEST_TEMPLATES_DIR,
      idBase: 100_000,
      mirrors: { ubuntu: 'http://127.0.0.1:9/ubuntu' },
    });
    const t0 = Date.now();
    await assert.rejects(
      offline.build({ kind: 'spec', spec: { slug: bad, os: 'ubuntu-24.04' } }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'template_mirror_unreachable');
        assert.match(err.message, /http:\/\/127\.0\.0\.1:9\/ubuntu/);
        return true;
      },
    );
    assert.ok(Date.now() - t0 < 15_000, 'an unreachable mirror fails fast');
    await assert.rejects(
      store.build({
        kind: 'spec',
        spec: { slug: bad, os: 'debian-13', runtimes: [{ name: 'python', version: '2.7' }] },
      }),
      (err: Error & { code?: string; details?: Record<string, unknown> }) => {
        assert.equal(err.code, 'template_runtime_unavailable');
        assert.match(err.message, /3\.13/);
        return true;
      },
    );
    await assert.rejects(
      store.build({
        kind: 'spec',
        spec: { slug: bad, os: 'debian-13', runtimes: [{ name: 'node', version: '99' }] },
      }),
      (err: Error & { code?: string }) =>
        err.code === 'template_runtime_unavailable' && /20, .*24/.test(err.message),
    );
    await assert.rejects(
      store.build({
        kind: 'spec',
        spec: { slug: bad, os: 'debian-13', runtimes: [{ name: 'ruby', version: '3' }] },
      }),
      { code: 'template_invalid' },
    );
    await assert.rejects(
      store.build({ kind: 'spec', spec: { slug: 'nodejs-20', os: 'debian-13' } }),
      {
        code: 'template_exists',
      },
    );
    await assert.rejects(
      store.build({ kind: 'spec', spec: { slug: bad, os: 'windows' } as never }),
      {
        code: 'invalid_options',
      },
    );
    await assert.rejects(
      store.build({
        kind: 'spec',
        spec: { slug: bad, os: 'debian-13', apt: ['no-such-package-rt'] },
      }),
      (err: Error & { code?: string; details?: Record<string, unknown> }) => {
        assert.equal(err.code, 'template_build_failed');
        assert.match(String(err.details?.step), /^apt/);
        assert.match(err.message, /E: .*no-such-package-rt/);
        return true;
      },
    );
    await assert.rejects(
      store.build({
        kind: 'spec',
        spec: { slug: bad, os: 'debian-13', npm: ['no-such-package-rt-zz'] },
      }),
      (err: Error & { code?: string; details?: Record<string, unknown> }) => {
        assert.equal(err.code, 'template_build_failed');
        assert.equal(err.details?.step, 'npm install -g no-such-package-rt-zz');
        assert.match(String(err.details?.output), /404|not found/i);
        return true;
      },
    );
    // Failed builds left no half-made template, and the previous version is still current.
    assert.equal((await store.get(bad)).version, good.version);
    assert.deepEqual(
      (await store.versions(bad)).map((i) => i.version),
      [good.version],
    );
    const leftovers = readdirSync(join(TEST_TEMPLATES_DIR, '.build')).filter((n) =>
      n.startsWith(bad),
    );
    assert.deepEqual(leftovers, []);
  });
});
