import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RunToolsError } from '@runtools/sdk/errors';
import { buildDockerfile, type DockerfileBuildInput } from './dockerfile/build.ts';
import { parseDockerfile } from './dockerfile/parse.ts';
import { buildahGlobalArgs, buildahRunRoot } from './dockerfile/storage.ts';
import { TemplateStore } from './template-store.ts';

const ID_BASE = 100000;
const TEMPLATES_DIR = process.env.RUNTOOLS_TEMPLATES_DIR ?? '/var/lib/runtools/templates';
const RT_INIT = new URL('../../native/build/rt-init', import.meta.url).pathname;

// Everything of this file lives below `work` (buildah storage included) and goes in `after`.
const work = mkdtempSync('/var/tmp/rt-test-dockerfile-');
const buildahRoot = join(work, 'buildah');
let outCount = 0;
const newOut = () => join(work, 'out', `rootfs-${++outCount}`);

function buildah(...args: string[]): string {
  return execFileSync('buildah', [...buildahGlobalArgs(buildahRoot), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
}

function containers(): string[] {
  const list = (JSON.parse(buildah('containers', '--all', '--json') || 'null') ?? []) as Array<{
    containername: string;
  }>;
  return list.map((c) => c.containername);
}

function imageNames(): string[] {
  const list = (JSON.parse(buildah('images', '--all', '--json') || 'null') ?? []) as Array<{
    id: string;
    names: string[] | null;
  }>;
  return list.flatMap((i) => i.names ?? [`<untagged ${i.id}>`]).sort();
}

/** No output tree, no buildah container, no image but the cached template bases. */
function assertNothingLeft(outRootfs: string): void {
  assert.equal(existsSync(outRootfs), false, 'outRootfs left behind');
  const siblings = existsSync(join(outRootfs, '..')) ? readdirSync(join(outRootfs, '..')) : [];
  assert.deepEqual(
    siblings.filter((n) => n.startsWith(`${outRootfs.split('/').at(-1)}.`)),
    [],
    'partial output left behind',
  );
  assert.deepEqual(containers(), [], 'buildah containers left behind');
  assert.deepEqual(
    imageNames().filter((n) => !n.startsWith('localhost/runtools-template/')),
    [],
    'buildah images left behind',
  );
}

async function rejectsWith(
  p: Promise<unknown>,
  code: string,
): Promise<RunToolsError & { details: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    assert.ok(RunToolsError.isInstance(err), `expected a RunToolsError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err as RunToolsError & { details: Record<string, unknown> };
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

let debian: { rootfs: string; version: string; env: Record<string, string>; cwd: string };
const resolved: string[] = [];

function input(over: Partial<DockerfileBuildInput> & { dockerfile: string }): DockerfileBuildInput {
  return {
    slug: 'test-dockerfile',
    idBase: ID_BASE,
    outRootfs: newOut(),
    buildahRoot,
    resolveTemplate: async (slug) => {
      resolved.push(slug);
      return slug === 'debian-13' ? debian : null;
    },
    ...over,
  };
}

before(async () => {
  // Built once per machine (~20 s); later runs find it in the templates directory.
  const store = new TemplateStore({ dir: TEMPLATES_DIR, idBase: ID_BASE });
  debian = await store.get('debian-13');
});

after(() => {
  try {
    buildah('rm', '--all');
    buildah('rmi', '--all', '--force');
  } catch {
    // storage never created or already empty
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p && p.startsWith(work))
    .sort()
    .reverse();
  for (const m of mounts) execFileSync('umount', ['-l', m]);
  rmSync(work, { recursive: true, force: true });
  rmSync(buildahRunRoot(buildahRoot), { recursive: true, force: true });
  try {
    rmdirSync(dirname(buildahRunRoot(buildahRoot)));
  } catch {
    // other buildah roots are in use
  }
});

describe('parseDockerfile', () => {
  const invalidAt = (text: string, line: number, what: RegExp) => {
    assert.throws(
      () => parseDockerfile(text),
      (err: unknown) => {
        assert.ok(RunToolsError.isInstance(err));
        assert.equal(err.code, 'template_invalid');
        assert.equal(err.details.line, line, err.message);
        assert.match(err.message, new RegExp(`line ${line}\\b`));
        assert.match(err.message, what);
        return true;
      },
    );
  };

  it('reads the FROM of every stage, with ARG defaults, and joins continuation lines', () => {
    const r = parseDockerfile(
      [
        '# syntax=docker/dockerfile:1',
        'ARG BASE=debian-13',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile ARG syntax
        'FROM ${BASE} AS build',
        'RUN echo a && \\',
        '  # a comment inside a continuation',
        '',
        '  echo b',
        'from scratch',
        'COPY --from=build /a /a',
      ].join('\n'),
    );
    assert.deepEqual(r.from, ['debian-13', 'scratch']);
    assert.deepEqual(
      r.instructions.map((i) => [i.line, i.keyword]),
      [
        [2, 'ARG'],
        [3, 'FROM'],
        [4, 'RUN'],
        [8, 'FROM'],
        [9, 'COPY'],
      ],
    );
    assert.equal(r.instructions[2]?.args, 'echo a &&   echo b');
    assert.deepEqual(r.bases, ['debian-13']);
    const multi = parseDockerfile(
      'FROM debian-13 AS a\nFROM a\nCOPY --from=nodejs-20 /usr/bin/node /usr/bin/\nCOPY --from=a /x /x\nCOPY --from=0 /y /y\n',
    );
    assert.deepEqual(multi.from, ['debian-13', 'a']);
    assert.deepEqual(multi.bases, ['debian-13', 'nodejs-20']);
  });

  it('rejects syntax errors with the line number', () => {
    invalidAt('FROM scratch\nRUN echo a \\\n', 2, /continuation/);
    invalidAt('FROM scratch\nRUN true\nFOO bar\n', 3, /unknown instruction "FOO"/);
    invalidAt(
      'FROM debian-13\nRUN apt-get update &&\n  apt-get install -y curl\n',
      3,
      /"apt-get".*line 2/,
    );
    invalidAt('RUN true\nFROM scratch\n', 1, /RUN before FROM/);
    invalidAt('# only a comment\nRUN true\n', 2, /missing FROM/);
    invalidAt('', 1, /empty/);
    invalidAt('FROM scratch\nRUN\n', 2, /RUN has no arguments/);
    invalidAt('FROM scratch\n\\\n\n', 2, /continuation/);
    invalidAt('FROM debian-13 AS a b\n', 1, /FROM takes an image/);
    invalidAt('FROM Not_An-Image!\n', 1, /not a valid image/);
    invalidAt('FROM $NOPE\n', 1, /\$NOPE/);
    invalidAt('FROM debian-13\nRUN <<EOF\necho hi\nEOF\n', 2, /heredoc/);
    invalidAt('FROM debian-13\nCOPY --from=Bad! /a /a\n', 2, /neither a build stage nor an image/);
  });
});

describe('buildDockerfile', () => {
  it('FROM scratch + ADD rootfs.tar: the tree, with owners shifted by idBase', async () => {
    const ctx = join(work, 'ctx-scratch');
    const tree = join(work, 'tree-scratch');
    mkdirSync(join(tree, 'bin'), { recursive: true });
    mkdirSync(join(tree, 'etc'), { recursive: true });
    mkdirSync(join(tree, 'home/user'), { recursive: true });
    if (existsSync(RT_INIT)) copyFileSync(RT_INIT, join(tree, 'bin/rt-init'));
    else writeFileSync(join(tree, 'bin/rt-init'), '#!/bin/sh\n');
    chmodSync(join(tree, 'bin/rt-init'), 0o755);
    writeFileSync(join(tree, 'etc/greeting'), 'hello\n');
    writeFileSync(join(tree, 'bin/setuid'), 'x');
    chmodSync(join(tree, 'bin/setuid'), 0o4755);
    writeFileSync(join(tree, 'home/user/own'), 'mine\n');
    chownSync(join(tree, 'home/user/own'), 1000, 1000);
    chownSync(join(tree, 'home/user'), 1000, 1000);
    symlinkSync('/etc/greeting', join(tree, 'greeting-link'));
    linkSync(join(tree, 'etc/greeting'), join(tree, 'etc/greeting-hardlink'));
    mkdirSync(ctx);
    execFileSync('tar', ['--numeric-owner', '-C', tree, '-cf', join(ctx, 'rootfs.tar'), '.']);

    const inp = input({
      contextDir: ctx,
      dockerfile:
        'FROM scratch\nADD rootfs.tar /\nENV GREETING=hello\nCMD ["/bin/rt-init", "--serve"]\n',
    });
    const r = await buildDockerfile(inp);
    const out = inp.outRootfs;
    assert.equal(readFileSync(join(out, 'etc/greeting'), 'utf8'), 'hello\n');
    assert.equal(lstatSync(out).uid, ID_BASE, 'the root directory itself is shifted');
    assert.equal(lstatSync(join(out, 'etc/greeting')).uid, ID_BASE);
    assert.equal(lstatSync(join(out, 'etc/greeting')).gid, ID_BASE);
    assert.equal(lstatSync(join(out, 'home/user/own')).uid, ID_BASE + 1000);
    assert.equal(lstatSync(join(out, 'home/user')).gid, ID_BASE + 1000);
    assert.equal(lstatSync(join(out, 'bin/setuid')).mode & 0o7777, 0o4755, 'setuid bit kept');
    assert.equal(lstatSync(join(out, 'bin/rt-init')).mode & 0o777, 0o755);
    assert.equal(readlinkSync(join(out, 'greeting-link')), '/etc/greeting');
    assert.equal(lstatSync(join(out, 'greeting-link')).uid, ID_BASE);
    assert.equal(
      lstatSync(join(out, 'etc/greeting')).ino,
      lstatSync(join(out, 'etc/greeting-hardlink')).ino,
      'hard links kept',
    );
    assert.equal(r.env.GREETING, 'hello');
    assert.equal(r.cwd, '/');
    assert.deepEqual(r.cmd, ['/bin/rt-init', '--serve']);
    assert.equal(r.user, undefined);
    assert.deepEqual(r.from, { kind: 'scratch', name: 'scratch' });
    assert.deepEqual(containers(), []);
    assert.deepEqual(
      imageNames().filter((n) => !n.startsWith('localhost/runtools-template/')),
      [],
    );
    rmSync(out, { recursive: true });
  });

  it('FROM a RunTools template: RUN, ENV, WORKDIR, COPY, USER; logs stream during the build', async () => {
    const ctx = join(work, 'ctx-template');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'greeting.txt'), 'from the context\n');
    const logs: Array<{ at: number; line: string }> = [];
    const templateRootBefore = lstatSync(debian.rootfs);
    const inp = input({
      contextDir: ctx,
      dockerfile: [
        'FROM debian-13',
        'RUN echo hi > /hello && useradd -m app',
        'RUN echo step-start && sleep 1.5 && \\',
        '    echo step-end',
        'ENV A=b',
        'WORKDIR /srv',
        'COPY greeting.txt /srv/',
        'USER app',
        'CMD ["bash"]',
      ].join('\n'),
      onLog: (line) => logs.push({ at: Date.now(), line }),
    });
    const r = await buildDockerfile(inp);
    const done = Date.now();
    const out = inp.outRootfs;
    assert.equal(readFileSync(join(out, 'hello'), 'utf8'), 'hi\n');
    assert.equal(lstatSync(join(out, 'hello')).uid, ID_BASE);
    const app = readFileSync(join(out, 'etc/passwd'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('app:'))
      ?.split(':');
    assert.ok(app, 'user app exists');
    const appUid = Number(app[2]);
    assert.ok(appUid >= 1000);
    assert.equal(lstatSync(join(out, 'home/app')).uid, ID_BASE + appUid);
    assert.equal(lstatSync(join(out, 'home/app')).gid, ID_BASE + Number(app[3]));
    assert.equal(readFileSync(join(out, 'srv/greeting.txt'), 'utf8'), 'from the context\n');
    assert.equal(lstatSync(join(out, 'srv/greeting.txt')).uid, ID_BASE);
    // The template's files came along, shifted like the rest.
    assert.equal(lstatSync(join(out, 'usr/bin/bash')).uid, ID_BASE);
    assert.equal(lstatSync(join(out, 'usr/bin/rg')).isFile(), true);
    assert.equal(r.env.A, 'b');
    assert.equal(r.env.HOME, '/root', "the template's env");
    assert.match(r.env.PATH ?? '', /\/usr\/bin/);
    assert.equal(r.cwd, '/srv');
    assert.equal(r.user, 'app');
    assert.deepEqual(r.cmd, ['bash']);
    assert.deepEqual(r.from, { kind: 'template', name: 'debian-13', version: debian.version });
    assert.deepEqual(resolved.slice(-1), ['debian-13']);

    // Streamed: the RUN step's first line came well before its last one and before the end.
    const start = logs.find((l) => l.line === 'step-start');
    const end = logs.find((l) => l.line === 'step-end');
    assert.ok(start && end, `RUN output in the log:\n${logs.map((l) => l.line).join('\n')}`);
    assert.ok(end.at - start.at >= 1000, `step-end ${end.at - start.at} ms after step-start`);
    assert.ok(logs.filter((l) => l.at <= start.at).length > 1);
    assert.ok(done - start.at >= 1000);
    assert.ok(logs.some((l) => /^STEP 2\/8: RUN echo hi/.test(l.line)));

    // The shared template directory was copied, not changed.
    assert.equal(lstatSync(debian.rootfs).uid, templateRootBefore.uid);
    assert.equal(lstatSync(join(debian.rootfs, 'etc/passwd')).uid, ID_BASE);
    assert.equal(existsSync(join(debian.rootfs, 'hello')), false);
    // The base stays cached; the build's own container and image are gone.
    assert.deepEqual(imageNames(), [`localhost/runtools-template/debian-13:${debian.version}`]);
    assert.deepEqual(containers(), []);
    rmSync(out, { recursive: true });

    // A second build reuses the imported base.
    const logs2: string[] = [];
    const inp2 = input({
      dockerfile: 'FROM debian-13\nRUN echo again > /again\n',
      onLog: (line) => logs2.push(line),
    });
    const r2 = await buildDockerfile(inp2);
    assert.equal(readFileSync(join(inp2.outRootfs, 'again'), 'utf8'), 'again\n');
    assert.equal(r2.cwd, '/root', "the template's cwd");
    assert.ok(!logs2.some((l) => /importing template/.test(l)), 'base imported again');
    rmSync(inp2.outRootfs, { recursive: true });
  });

  it('multi-stage: COPY --from a stage built on a template into scratch', async () => {
    const inp = input({
      dockerfile: [
        'FROM debian-13 AS build',
        'RUN echo built > /artifact && chown 1234:1234 /artifact',
        'FROM scratch',
        'COPY --from=build /artifact /artifact',
      ].join('\n'),
    });
    const r = await buildDockerfile(inp);
    assert.equal(readFileSync(join(inp.outRootfs, 'artifact'), 'utf8'), 'built\n');
    assert.equal(lstatSync(join(inp.outRootfs, 'artifact')).uid, ID_BASE + 1234);
    assert.deepEqual(r.from, { kind: 'scratch', name: 'scratch' });
    assert.deepEqual(r.bases, [{ kind: 'template', name: 'debian-13', version: debian.version }]);
    assert.deepEqual(containers(), []);
    rmSync(inp.outRootfs, { recursive: true });
  });

  it('a failing RUN: template_build_failed with the step and its output; nothing left', async () => {
    const inp = input({
      dockerfile: [
        'FROM debian-13',
        'RUN echo fine',
        'RUN echo some-output && echo to-stderr >&2 && \\',
        '    exit 3',
        'RUN echo never',
      ].join('\n'),
    });
    const err = await rejectsWith(buildDockerfile(inp), 'template_build_failed');
    assert.equal(err.details.step, 'RUN echo some-output && echo to-stderr >&2 &&     exit 3');
    assert.equal(err.details.line, 3);
    assert.equal(err.details.template, 'test-dockerfile');
    assert.match(String(err.details.output), /some-output/);
    assert.match(String(err.details.output), /to-stderr/);
    assert.match(err.message, /RUN echo some-output/);
    assert.match(err.message, /to-stderr/);
    assert.doesNotMatch(err.message, /never/);
    assertNothingLeft(inp.outRootfs);
  });

  it('an aborted build stops buildah and its RUN step; nothing left', async () => {
    const ac = new AbortController();
    const inp = input({
      dockerfile: 'FROM debian-13\nRUN echo sleeping && sleep 31.7\n',
      signal: ac.signal,
      onLog: (line) => {
        if (line === 'sleeping') setTimeout(() => ac.abort(), 200);
      },
    });
    const started = Date.now();
    await assert.rejects(buildDockerfile(inp), { name: 'AbortError' });
    assert.ok(Date.now() - started < 20_000, `abort took ${Date.now() - started} ms`);
    const sleeping = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'sleep\x0031.7\x00';
        } catch {
          return false;
        }
      });
    assert.deepEqual(sleeping, [], 'the RUN step still runs');
    assertNothingLeft(inp.outRootfs);
  });

  it('syntax errors are template_invalid before anything is built', async () => {
    const inp = input({ dockerfile: 'FROM debian-13\nRUN true\nINSTALL curl\n' });
    const err = await rejectsWith(buildDockerfile(inp), 'template_invalid');
    assert.equal(err.details.line, 3);
    assert.match(err.message, /line 3: unknown instruction "INSTALL"/);
    const missing = await rejectsWith(
      buildDockerfile(input({ dockerfile: 'RUN echo no base\n' })),
      'template_invalid',
    );
    assert.match(missing.message, /line 1: missing FROM/);
    const cont = await rejectsWith(
      buildDockerfile(input({ dockerfile: 'FROM scratch\nENV A=1 \\' })),
      'template_invalid',
    );
    assert.equal(cont.details.line, 2);
    assertNothingLeft(inp.outRootfs);
  });

  it('a registry base that cannot be reached: template_base_unreachable, fast', async () => {
    for (const [from, ref] of [
      ['docker.io/library/alpine:3.20', 'docker.io/library/alpine:3.20'],
      ['alpine', 'docker.io/library/alpine:latest'],
    ] as const) {
      const inp = input({ dockerfile: `FROM ${from}\nRUN true\n` });
      const started = Date.now();
      const err = await rejectsWith(buildDockerfile(inp), 'template_base_unreachable');
      assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
      assert.equal(err.details.registry, 'docker.io');
      assert.equal(err.details.reference, ref);
      assert.match(err.message, new RegExp(ref.replace(/[.]/g, '\\.')));
      assert.match(err.message, /registry docker\.io/);
      assertNothingLeft(inp.outRootfs);
    }
    assert.ok(resolved.includes('alpine'), 'a plain name is looked up as a template first');
  });

  it('refuses an existing outRootfs', async () => {
    const out = newOut();
    mkdirSync(out, { recursive: true });
    await rejectsWith(
      buildDockerfile(input({ dockerfile: 'FROM scratch\n', outRootfs: out })),
      'invalid_options',
    );
    assert.deepEqual(readdirSync(out), []);
    rmSync(out, { recursive: true });
  });
});
