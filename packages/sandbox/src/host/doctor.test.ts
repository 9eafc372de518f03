/**
 * Runs the real checks on this machine (prepared by `bash scripts/setup.sh`, as root) and checks
 * how missing or unusable tools are reported, with fake executables where a real one can't be
 * made to fail.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { findCriu, isSupportedCriuVersion, majorVersion, probeCriu } from './criu.ts';
import {
  DEFAULT_SUPERVISOR_BINARY,
  doctor,
  failedRequired,
  formatDoctorReport,
  type PrerequisiteCheck,
  SETUP_FIX,
} from './doctor/doctor.ts';

const execFileAsync = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const nativeBuildScript = resolve(import.meta.dirname, '../../native/build.sh');

function byName(checks: PrerequisiteCheck[], name: string): PrerequisiteCheck {
  const check = checks.find((c) => c.name === name);
  assert.ok(check, `no check named ${name}`);
  return check;
}

describe('doctor on this machine', { skip: isRoot ? false : 'needs root' }, () => {
  let checks: PrerequisiteCheck[];
  before(async () => {
    checks = await doctor();
  });

  test('reports every prerequisite once, in a fixed order', () => {
    assert.deepEqual(
      checks.map((c) => c.name),
      [
        'node',
        'runc',
        'criu',
        'mmdebstrap',
        'buildah',
        'uidmap',
        'iptables',
        'iproute2',
        'ripgrep',
        'overlayfs',
        'user namespaces',
        'cgroups',
        'root',
        'supervisor',
      ],
    );
  });

  test('the required checks pass after scripts/setup.sh', (t) => {
    for (const check of checks) {
      if (check.name === 'supervisor' && !existsSync(nativeBuildScript)) {
        t.diagnostic(`supervisor not checked: ${nativeBuildScript} does not exist yet`);
        continue;
      }
      if (check.optional) continue;
      assert.ok(check.found && check.works, `${check.name}: ${check.detail}`);
      assert.equal(check.fix, undefined, `${check.name} passed but has a fix`);
    }
  });

  test('versions come from the tools themselves', () => {
    assert.ok(majorVersion(byName(checks, 'node').version ?? '') >= 24);
    assert.ok(isSupportedCriuVersion(byName(checks, 'criu').version ?? ''));
    assert.match(byName(checks, 'runc').version ?? '', /^\d+\.\d+/);
    assert.match(byName(checks, 'iproute2').version ?? '', /^\d+\.\d+/);
    assert.match(byName(checks, 'criu').detail, /criu check: "Looks good/);
  });

  test('findCriu returns a working CRIU >= 4.2', async () => {
    const criu = await findCriu();
    assert.ok(criu, 'no CRIU found');
    assert.ok(isSupportedCriuVersion(criu.version), criu.version);
    assert.ok(existsSync(criu.path), criu.path);
  });

  test('checks the system cgroup hierarchies even while another mount of them exists (a CRIU restore)', async (t) => {
    if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return t.skip('cgroup v2 host');
    // CRIU mounts each v1 controller again in a temporary "cgroup yard" during a restore.
    const yard = await mkdtemp(join(tmpdir(), 'rt-doctor-cgyard-'));
    await execFileAsync('mount', ['-t', 'cgroup', '-o', 'memory', 'rt-doctor-yard', yard]);
    try {
      const cgroups = (await doctor()).find((c) => c.name === 'cgroups');
      assert.ok(cgroups?.works, cgroups?.detail);
      assert.match(cgroups.detail, /memory at \/sys\/fs\/cgroup\/memory/);
      assert.doesNotMatch(cgroups.detail, /rt-doctor-cgyard/);
    } finally {
      await execFileAsync('umount', [yard]);
      await rm(yard, { recursive: true, force: true });
    }
  });

  test('doctor-cli prints the report and exits 1 only when a required check fails', async () => {
    const cli = resolve(import.meta.dirname, 'doctor-cli.ts');
    const result = await execFileAsync(process.execPath, [cli]).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
    assert.match(result.stdout, /^CHECK\s+STATUS\s+VERSION\s+DETAIL$/m);
    assert.match(result.stdout, /^criu\s+ok\s+4\./m);
    const failed = failedRequired(checks);
    assert.equal(result.code, failed.length > 0 ? 1 : 0, result.stdout);
  });
});

describe('missing or unusable prerequisites', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rt-doctor-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A fake `criu` that prints the given version and `criu check` output. */
  async function fakeCriu(name: string, version: string, check: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(
      path,
      `#!/bin/sh\ncase "$1" in\n  --version) echo "Version: ${version}" ;;\n  check) echo "${check}"; [ "${check}" = "Looks good." ] ;;\nesac\n`,
    );
    await chmod(path, 0o755);
    return path;
  }

  test('findCriu returns null for a bogus candidate', async () => {
    assert.equal(await findCriu({ candidates: ['/nonexistent/runtools/criu'] }), null);
  });

  test('a missing criu is reported as not found, with the fix', async () => {
    const checks = await doctor({ criuCandidates: ['/nonexistent/runtools/criu'] });
    const criu = byName(checks, 'criu');
    assert.equal(criu.found, false);
    assert.equal(criu.works, false);
    assert.equal(criu.fix, SETUP_FIX);
    assert.match(criu.detail, /\/nonexistent\/runtools\/criu/);
  });

  test('tools not on PATH are reported as not found, with the fix', async () => {
    const checks = await doctor({ searchPath: join(dir, 'empty-bin'), criuCandidates: ['criu'] });
    for (const name of [
      'runc',
      'criu',
      'mmdebstrap',
      'buildah',
      'iptables',
      'iproute2',
      'ripgrep',
    ]) {
      const check = byName(checks, name);
      assert.equal(check.found, false, name);
      assert.equal(check.fix, SETUP_FIX, name);
    }
    assert.ok(failedRequired(checks).some((c) => c.name === 'runc'));
    assert.ok(!failedRequired(checks).some((c) => c.name === 'buildah'), 'buildah is optional');
  });

  test('findCriu skips a CRIU older than 4.2 and takes the next candidate', async () => {
    const old = await fakeCriu('criu-old', '4.1.1', 'Looks good.');
    const good = await fakeCriu('criu-good', '4.2.1', 'Looks good.');
    assert.deepEqual(await findCriu({ candidates: [old, good] }), { path: good, version: '4.2.1' });
    const probe = await probeCriu(old);
    assert.equal(probe.found, true);
    assert.equal(probe.works, false);
    assert.match(probe.problem ?? '', /older than 4\.2/);
  });

  test('a CRIU >= 4.2 whose check fails is found but does not work', async () => {
    const broken = await fakeCriu('criu-broken', '4.2.1', 'Error (criu/vdso.c:613): vdso: boom');
    assert.equal(await findCriu({ candidates: [broken] }), null);
    const checks = await doctor({ criuCandidates: [broken] });
    const criu = byName(checks, 'criu');
    assert.equal(criu.found, true);
    assert.equal(criu.works, false);
    assert.equal(criu.version, '4.2.1');
    assert.match(criu.detail, /vdso: boom/);
    assert.equal(criu.fix, SETUP_FIX);
  });

  test('names without a slash are looked up on the given PATH', async () => {
    await fakeCriu('criu', '4.2.0', 'Looks good.');
    assert.deepEqual(await findCriu({ candidates: ['criu'], searchPath: dir }), {
      path: join(dir, 'criu'),
      version: '4.2.0',
    });
  });

  test('a supervisor that is not built or not static fails with the build command', async () => {
    const missing = byName(await doctor({ supervisorBinary: join(dir, 'rt-init') }), 'supervisor');
    assert.equal(missing.found, false);
    assert.match(missing.fix ?? '', /build:native/);
    const dynamic = byName(await doctor({ supervisorBinary: '/bin/sh' }), 'supervisor');
    assert.equal(dynamic.found, true);
    assert.equal(dynamic.works, false);
    assert.match(dynamic.detail, /dynamically linked/);
  });

  test('the supervisor default path is packages/sandbox/native/build/rt-init', () => {
    assert.equal(
      DEFAULT_SUPERVISOR_BINARY,
      resolve(import.meta.dirname, '../../native/build/rt-init'),
    );
    assert.match(DEFAULT_SUPERVISOR_BINARY, /packages\/sandbox\/native\/build\/rt-init$/);
  });
});

describe('formatDoctorReport', () => {
  const checks: PrerequisiteCheck[] = [
    { name: 'runc', found: true, version: '1.1.5', works: true, detail: '/usr/sbin/runc' },
    {
      name: 'criu',
      found: true,
      version: '3.17.1',
      works: false,
      detail: 'CRIU 3.17.1 is older than 4',
      fix: SETUP_FIX,
    },
    {
      name: 'buildah',
      found: false,
      works: false,
      detail: 'not on PATH',
      fix: SETUP_FIX,
      optional: true,
    },
    {
      name: 'supervisor',
      found: false,
      works: false,
      detail: 'not built',
      fix: 'npm run build:native',
    },
  ];

  test('is an aligned plain-text table with fix lines and a summary', () => {
    const report = formatDoctorReport(checks);
    assert.ok(!report.includes('\u001b'), 'no colours');
    assert.equal(
      report,
      [
        'CHECK       STATUS              VERSION  DETAIL',
        'runc        ok                  1.1.5    /usr/sbin/runc',
        'criu        FAILED              3.17.1   CRIU 3.17.1 is older than 4',
        '                                         fix: bash scripts/setup.sh',
        'buildah     missing (optional)  -        not on PATH',
        '                                         fix: bash scripts/setup.sh',
        'supervisor  MISSING             -        not built',
        '                                         fix: npm run build:native',
        '',
        'doctor: 2 required check(s) failed: criu, supervisor; optional not working: buildah',
        'to fix: bash scripts/setup.sh; npm run build:native',
      ].join('\n'),
    );
  });

  test('says so when everything required passes', () => {
    const first = checks[0];
    assert.ok(first);
    assert.match(formatDoctorReport([first]), /doctor: all 1 required checks passed$/);
  });
});
