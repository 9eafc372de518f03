import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { doctor, SETUP_FIX } from './doctor/doctor.ts';
import {
  changelogFor,
  findRunc,
  inspectRunc,
  missingEscapeFixes,
  PRIVATE_RUNC,
  parseRuncVersion,
  RUNC_ESCAPE_FIXES,
} from './runc.ts';

const cves = (version: string, changelog = '') =>
  missingEscapeFixes(version, changelog).map((f) => f.cve);
const AFTER_2024 = ['CVE-2025-31133', 'CVE-2025-52565', 'CVE-2025-52881', 'CVE-2026-41579'];
const isRoot = process.getuid?.() === 0;

describe('runc escape fixes', () => {
  test('a release has a fix from the first fixed release of its line on', () => {
    assert.deepEqual(
      cves('1.1.11'),
      RUNC_ESCAPE_FIXES.map((f) => f.cve),
    );
    assert.deepEqual(cves('1.1.12'), AFTER_2024);
    assert.deepEqual(cves('1.2.7'), AFTER_2024);
    assert.deepEqual(cves('1.2.8'), ['CVE-2026-41579']);
    assert.deepEqual(cves('1.3.2'), AFTER_2024);
    assert.deepEqual(cves('1.3.3'), ['CVE-2026-41579']);
    assert.deepEqual(cves('1.3.6+ds1'), []);
    assert.deepEqual(cves('1.4.2'), ['CVE-2026-41579']);
    assert.deepEqual(cves('1.4.3'), []);
    assert.deepEqual(cves('1.5.0'), []);
    assert.deepEqual(cves('2.0.0'), []);
  });

  test('a distribution backport named in its changelog counts; a version that does not parse has nothing', () => {
    // Debian 12's runc: 1.1.5 with the 2024 fix backported (DSA-5615).
    const changelog =
      'runc (1.1.5+ds1-1+deb12u1) bookworm-security\n  * CVE-2024-21626: several container breakouts';
    assert.deepEqual(cves('1.1.5+ds1', changelog), AFTER_2024);
    assert.deepEqual(
      cves('1.1.5+ds1'),
      RUNC_ESCAPE_FIXES.map((f) => f.cve),
    );
    assert.deepEqual(
      cves('unknown'),
      RUNC_ESCAPE_FIXES.map((f) => f.cve),
    );
  });

  test('parses `runc --version`', () => {
    assert.equal(parseRuncVersion('runc version 1.3.6+ds1\ncommit: 1.3.6+ds1-1\n'), '1.3.6+ds1');
    assert.equal(parseRuncVersion('nonsense'), undefined);
  });

  test('RUNTOOLS_RUNC picks the runc; else the private one when setup installed it', () => {
    assert.equal(findRunc({ RUNTOOLS_RUNC: '/x/runc' }), '/x/runc');
    assert.equal(findRunc({}), existsSync(PRIVATE_RUNC) ? PRIVATE_RUNC : 'runc');
  });

  test('the runc the engine runs has every known fix (after scripts/setup.sh)', async () => {
    const binary = findRunc({});
    const info = await inspectRunc(binary, changelogFor(binary));
    assert.deepEqual(
      info.missing.map((f) => f.cve),
      [],
      `${binary} ${info.version} lacks fixes: run bash scripts/setup.sh`,
    );
  });

  test("Debian 12's own runc is read with its changelog: the 2024 backport counts, the rest is missing", async (t) => {
    if (!existsSync('/usr/sbin/runc')) return t.skip('no system runc');
    const info = await inspectRunc('/usr/sbin/runc', changelogFor('/usr/sbin/runc'));
    if (!info.version.startsWith('1.1.5+ds1')) return t.skip(`system runc is ${info.version}`);
    assert.match(info.changelog, /CVE-2024-21626/);
    assert.deepEqual(
      info.missing.map((f) => f.cve),
      AFTER_2024,
    );
  });

  test('doctor fails a runc that lacks fixes, names them, and gives the fix', {
    skip: !isRoot && 'needs root',
  }, async (t) => {
    if (!existsSync('/usr/sbin/runc')) return t.skip('no system runc');
    const info = await inspectRunc('/usr/sbin/runc', changelogFor('/usr/sbin/runc'));
    if (info.missing.length === 0) return t.skip('the system runc has every fix');
    const checks = await doctor({ runc: '/usr/sbin/runc' });
    const runc = checks.find((c) => c.name === 'runc');
    assert.ok(runc);
    assert.equal(runc.found, true);
    assert.equal(runc.works, false);
    assert.equal(runc.fix, SETUP_FIX);
    for (const fix of info.missing) assert.match(runc.detail, new RegExp(fix.cve));
  });
});
