import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Template } from '@runtools/sdk';
import {
  type CliServer,
  hasEscapeCodes,
  runCli,
  startCliServer,
} from '../testing/remote-cli-fixture.ts';

describe('runtools templates (the CLI as a child process, a real server building templates)', () => {
  let cp: CliServer;
  const dir = mkdtempSync(join(tmpdir(), 'runtools-cli-templates-'));
  // Built templates land in the shared templates dir: unique slugs, deleted afterwards.
  const slug = `cli-test-${process.pid}-${Date.now().toString(36)}`;
  const failing = `${slug}-fails`;
  const templateDir = join(dir, slug);

  before(async () => {
    cp = await startCliServer();
    mkdirSync(join(templateDir, 'bin'), { recursive: true });
    writeFileSync(
      join(templateDir, 'Dockerfile'),
      'FROM debian-13\nCOPY greeting.txt /srv/greeting.txt\nCOPY bin/tool /usr/local/bin/tool\nRUN tool > /srv/built\nWORKDIR /srv\n',
    );
    writeFileSync(join(templateDir, 'greeting.txt'), 'hello from the context\n');
    writeFileSync(join(templateDir, 'bin', 'tool'), '#!/bin/sh\necho built-by-tool\n', {
      mode: 0o755,
    });
  });
  after(async () => {
    for (const s of [slug, failing]) await cp?.rt.templates.delete(s).catch(() => {});
    await cp?.[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });

  it('build sends the directory as the context and shows each step (plain lines off a terminal)', async () => {
    const result = await runCli(['templates', 'build', templateDir], { env: cp.env });
    assert.equal(result.code, 0, result.stderr);
    for (let step = 1; step <= 5; step += 1) {
      assert.match(result.stderr, new RegExp(`^template ${slug}: step ${step}/5: `, 'm'));
    }
    assert.match(result.stderr, /step 4\/5: RUN tool > \/srv\/built/);
    assert.match(
      result.stderr,
      new RegExp(`^template ${slug}: ready \\(version \\w+, built in`, 'm'),
    );
    assert.match(result.stdout, new RegExp(`^template ${slug} built \\(version \\w+\\)$`, 'm'));
    assert.equal(hasEscapeCodes(result.stdout + result.stderr), false);
    // The template works: a sandbox of it has the context's files and what RUN made.
    const sandbox = await cp.rt.sandboxes.create({ template: slug });
    try {
      const r = await cp.rt.sandboxes.exec(sandbox.id, { command: 'cat built greeting.txt' });
      assert.equal(r.stdout, 'built-by-tool\nhello from the context\n');
    } finally {
      await cp.rt.sandboxes.delete(sandbox.id);
    }
  });

  it('build of the same definition again builds nothing and says so', async () => {
    const builds = (await cp.rt.templates.builds.list(slug)).data.length;
    const result = await runCli(['templates', 'build', templateDir], { env: cp.env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /unchanged: already built from this definition/);
    assert.equal(result.stderr, '');
    assert.equal((await cp.rt.templates.builds.list(slug)).data.length, builds);
  });

  it('list shows system templates and the built one; --json parses', async () => {
    const result = await runCli(['templates', 'list'], { env: cp.env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^SLUG\s+KIND\s+STATUS\s+VERSION\s+SIZE\s+UPDATED$/m);
    assert.match(result.stdout, /^debian-13\s+system\s+ready\s/m);
    assert.match(result.stdout, new RegExp(`^${slug}\\s+dockerfile\\s+ready\\s`, 'm'));
    const json = await runCli(['templates', 'list', '--json'], { env: cp.env });
    const templates = JSON.parse(json.stdout) as Template[];
    assert.equal(templates.find((t) => t.slug === slug)?.kind, 'dockerfile');
  });

  it('a failing build exits 1 with the end of its log', async () => {
    const failDir = join(dir, failing);
    mkdirSync(failDir);
    writeFileSync(
      join(failDir, 'Dockerfile'),
      'FROM debian-13\nRUN echo about to fail && exit 3\n',
    );
    const result = await runCli(['templates', 'build', failDir], { env: cp.env });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /template_build_failed/);
    assert.match(result.stderr, /about to fail/);
  });

  it('a path that is neither a Dockerfile directory nor a spec is refused (exit 1)', async () => {
    const notJson = join(dir, 'notes.txt');
    writeFileSync(notJson, 'not a template');
    const result = await runCli(['templates', 'build', notJson], { env: cp.env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /neither a directory with a Dockerfile nor a JSON template spec/);
  });
});
