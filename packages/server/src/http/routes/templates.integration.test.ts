import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useTestEngine } from '@runtools/sandbox/testing';
import { RunTools, RunToolsApiError, type Template, type TemplateBuild } from '@runtools/sdk';
import { templateBuildFraction, templateBuildProgressOf } from '@runtools/sdk/api';
import { type Database, openDatabase } from '../../db/database.ts';
import { ensureTemplateBuilt } from '../../templates/ensure-template-built.ts';
import { startTestServer, type TestServer, testBootstrapKey } from '../../testing/test-server.ts';

interface LogFrame {
  id?: string;
  event: string;
  data: Record<string, unknown>;
}

/**
 * Reads a build's log over SSE until it ends, or until `stopAfter` log lines arrived (then the
 * connection is dropped, as a client that goes away would).
 */
async function readLog(
  server: TestServer,
  path: string,
  options: { lastEventId?: number; stopAfter?: number } = {},
): Promise<LogFrame[]> {
  const controller = new AbortController();
  const response = await fetch(`${server.url}${path}`, {
    headers: {
      authorization: `Bearer ${testBootstrapKey}`,
      accept: 'text/event-stream',
      ...(options.lastEventId !== undefined
        ? { 'last-event-id': String(options.lastEventId) }
        : {}),
    },
    signal: controller.signal,
  });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
  const frames: LogFrame[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return frames;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const frame: LogFrame = { event: 'message', data: {} };
        const data: string[] = [];
        for (const line of buffer.slice(0, end).split('\n')) {
          if (line.startsWith('id:')) frame.id = line.slice(3).trim();
          else if (line.startsWith('event:')) frame.event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        buffer = buffer.slice(end + 2);
        if (data.length > 0) {
          frame.data = JSON.parse(data.join('\n'));
          frames.push(frame);
          const lines = frames.filter((f) => f.event === 'log').length;
          if (options.stopAfter !== undefined && lines >= options.stopAfter) return frames;
        }
        end = buffer.indexOf('\n\n');
      }
    }
  } finally {
    controller.abort();
    await reader.cancel().catch(() => {});
  }
}

describe('/v1/templates with a sandbox engine', () => {
  const t = useTestEngine('tpl-api');
  const tag = `${process.pid}`;
  const specSlug = `rt-test-api-spec-${tag}`;
  const dockerSlug = `rt-test-api-df-${tag}`;
  const failSlug = `rt-test-api-fail-${tag}`;
  const badSlug = `rt-test-api-bad-${tag}`;
  let dir: string;
  let database: Database;
  let server: TestServer;
  let rt: RunTools;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'runtools-tpl-api-'));
    database = await openDatabase({ kind: 'sqlite', dataDir: dir });
    server = await startTestServer(database, { engine: t.engine });
    rt = new RunTools({ apiKey: testBootstrapKey, baseUrl: server.url });
  });

  after(async () => {
    // The templates dir is shared by every test run: leave nothing of ours in it.
    for (const slug of [specSlug, dockerSlug, failSlug, badSlug]) {
      await rt?.templates.delete(slug).catch(() => {});
      await t.engine.templates.delete(slug, new Set()).catch(() => {});
    }
    await server?.[Symbol.asyncDispose]();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds a spec template in the background, streams its log with replay after a reconnect, and takes the same definition again as a no-op', async () => {
    const created = await server.request('POST', '/v1/templates', {
      body: {
        slug: specSlug,
        // jq makes an install step: a log of more than the three lines of a copy of the base.
        spec: { os: 'debian-13', apt: ['jq'], env: { RT_TEMPLATE: 'spec', HOME: '/root' } },
      },
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const template = created.body as Template;
    assert.equal(template.kind, 'spec');
    const build = template.build as TemplateBuild;
    assert.ok(['queued', 'building'].includes(build.status), build.status);
    const logPath = `/v1/templates/${specSlug}/builds/${build.id}/logs`;

    // A client that drops after a few lines, and reconnects with the last id it saw.
    const first = await readLog(server, logPath, { stopAfter: 3 });
    assert.deepEqual(
      first.map((f) => f.id),
      ['1', '2', '3'],
    );
    const rest = await readLog(server, logPath, { lastEventId: 3 });
    const status = rest.at(-1);
    assert.equal(status?.event, 'status');
    assert.equal(status?.data.status, 'ready', JSON.stringify(status?.data));
    const lines = rest.filter((f) => f.event === 'log');
    assert.deepEqual(
      lines.map((f) => Number(f.id)),
      lines.map((_, i) => i + 4),
      'gapless, no line twice',
    );
    assert.equal(status?.data.logLines, 3 + lines.length);
    assert.ok(lines.length > 0, 'lines after the reconnect');
    assert.ok(lines.some((f) => String(f.data.line).includes('ready in')));

    // The whole log replays from the database, and `?after=` works like Last-Event-ID.
    const replay = await readLog(server, `${logPath}?after=0`);
    assert.equal(replay.filter((f) => f.event === 'log').length, 3 + lines.length);
    // Its plan and step lines give the progress: copy, shift, apt, finish, all started.
    const progress = templateBuildProgressOf(
      replay.filter((f) => f.event === 'log').map((f) => String(f.data.line)),
    );
    assert.equal(progress.total, 4);
    assert.equal(progress.step, 'finish the root');
    assert.equal(templateBuildFraction(progress), 0.75);
    const tail = await readLog(server, `${logPath}?after=${3 + lines.length - 1}`);
    assert.deepEqual(
      tail.map((f) => f.event),
      ['log', 'status'],
    );

    const got = (await server.request('GET', `/v1/templates/${specSlug}`)).body as Template;
    assert.equal(got.status, 'ready');
    assert.equal(got.builtHere, true);
    assert.equal(got.version, status?.data.version);
    assert.ok((got.local?.sizeBytes ?? 0) > 0);
    assert.equal(got.local?.version, got.version);

    const again = await server.request('POST', '/v1/templates', {
      body: {
        slug: specSlug,
        spec: { os: 'debian-13', apt: ['jq'], env: { HOME: '/root', RT_TEMPLATE: 'spec' } },
      },
    });
    assert.equal(again.status, 200);
    assert.equal((again.body as Template).build?.id, build.id, 'no new build');
    const builds = await server.request('GET', `/v1/templates/${specSlug}/builds`);
    assert.equal((builds.body as { data: unknown[] }).data.length, 1);

    await using sandbox = await t.engine.create({ template: specSlug });
    const r = await sandbox.exec('echo $RT_TEMPLATE; echo \'{"a":1}\' | jq .a');
    assert.equal(r.stdout.trim(), 'spec\n1');
  });

  it('refuses a spec naming an apt or npm package that does not exist with a 400 at once, storing and building nothing', async () => {
    // The apt check reads the package lists of the OS base, which this server builds once.
    await t.engine.templates.validate({ kind: 'spec', spec: { slug: badSlug, os: 'debian-13' } });
    const refusals = [
      {
        spec: { os: 'debian-13', apt: ['jq', 'no-such-package-rt'] },
        pkg: 'no-such-package-rt',
        manager: 'apt',
      },
      {
        spec: { os: 'debian-13', npm: ['no-such-package-rt-zz'] },
        pkg: 'no-such-package-rt-zz',
        manager: 'npm',
      },
    ];
    for (const { spec, pkg, manager } of refusals) {
      const refused = await server.request('POST', '/v1/templates', {
        body: { slug: badSlug, spec },
      });
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      const error = (
        refused.body as {
          error: { code: string; message: string; details: Record<string, unknown> };
        }
      ).error;
      assert.equal(error.code, 'template_invalid');
      assert.ok(error.message.includes(pkg), error.message);
      assert.equal(error.details.package, pkg);
      assert.equal(error.details.packageManager, manager);
    }
    // A runtime version that does not exist is bad input too: 400, with the versions there are.
    const runtime = await server.request('POST', '/v1/templates', {
      body: {
        slug: badSlug,
        spec: { os: 'debian-13', runtimes: [{ name: 'python', version: '2.7' }] },
      },
    });
    assert.equal(runtime.status, 400, JSON.stringify(runtime.body));
    const runtimeError = (runtime.body as { error: { code: string; message: string } }).error;
    assert.equal(runtimeError.code, 'template_runtime_unavailable');
    assert.match(runtimeError.message, /3\.13/);
    assert.equal((await server.request('GET', `/v1/templates/${badSlug}`)).status, 404);
    assert.deepEqual(await t.engine.templates.versions(badSlug), []);
  });

  it('refuses to delete a template while a sandbox uses it', async () => {
    const sandbox = await t.engine.create({ template: specSlug });
    const refused = await server.request('DELETE', `/v1/templates/${specSlug}`);
    assert.equal(refused.status, 409);
    assert.equal((refused.body as { error: { code: string } }).error.code, 'template_in_use');
    await sandbox.delete();
    assert.equal((await server.request('DELETE', `/v1/templates/${specSlug}`)).status, 204);
    assert.equal((await server.request('GET', `/v1/templates/${specSlug}`)).status, 404);
    await assert.rejects(t.engine.templates.get(specSlug), { code: 'template_not_found' });
  });

  it('builds a Dockerfile with uploaded context files through the SDK, and lists it beside the system templates', async () => {
    const log: string[] = [];
    const created = await rt.templates.create({
      slug: dockerSlug,
      dockerfile: [
        'FROM debian-13',
        'COPY greeting.txt /srv/greeting.txt',
        'COPY bin/make-marker /usr/local/bin/make-marker',
        'RUN make-marker > /etc/built',
        'WORKDIR /srv',
      ].join('\n'),
      files: {
        'greeting.txt': 'hello from the context\n',
        'bin/make-marker': {
          content: Buffer.from('#!/bin/sh\necho built-by-script\n').toString('base64'),
          encoding: 'base64',
          mode: 0o755,
        },
      },
    });
    assert.equal(created.kind, 'dockerfile');
    const ready = await rt.templates.waitForBuild(dockerSlug, { onLog: (l) => log.push(l) });
    assert.equal(ready.status, 'ready');
    assert.ok(
      log.some((l) => l.includes('make-marker')),
      log.join('\n'),
    );
    await using sandbox = await t.engine.create({ template: dockerSlug });
    const r = await sandbox.exec('cat /etc/built greeting.txt; pwd');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      'built-by-script',
      'hello from the context',
      '/srv',
    ]);

    const all = await rt.templates.list({ limit: 100 });
    const kinds = new Map(all.data.map((tpl) => [tpl.slug, tpl]));
    assert.equal(kinds.get('debian-13')?.kind, 'system');
    assert.equal(kinds.get('debian-13')?.builtHere, true);
    assert.equal(kinds.get(dockerSlug)?.builtHere, true);
    const builds = await rt.templates.builds.list(dockerSlug);
    assert.equal(builds.data[0]?.status, 'ready');
    const logs: string[] = [];
    for await (const item of rt.templates.logs(dockerSlug, ready.build?.id ?? '')) {
      if (item.type === 'log') logs.push(item.line);
    }
    assert.deepEqual(logs, log);

    // A client whose first log connection drops after two lines picks up after the second.
    const afters: string[] = [];
    const dropping: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const url = new URL(String(input));
      if (!url.pathname.endsWith('/logs')) return response;
      afters.push(url.searchParams.get('after') ?? '');
      if (afters.length > 1) return response;
      const frames = (await response.text()).split('\n\n').slice(0, 2);
      let pulls = 0;
      // Erroring a stream drops what it still queues: the reset comes on the next read.
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (pulls++ === 0) {
            controller.enqueue(new TextEncoder().encode(`${frames.join('\n\n')}\n\n`));
          } else {
            controller.error(new Error('connection reset'));
          }
        },
      });
      return new Response(body, { status: 200, headers: response.headers });
    };
    const flaky = new RunTools({ apiKey: testBootstrapKey, baseUrl: server.url, fetch: dropping });
    const resumed: string[] = [];
    for await (const item of flaky.templates.logs(dockerSlug, ready.build?.id ?? '', {
      retryDelayMs: 10,
    })) {
      if (item.type === 'log') resumed.push(item.line);
    }
    assert.deepEqual(resumed, log);
    assert.deepEqual(afters, ['0', '2']);

    // The definition sent again, in part: nothing to do.
    const unchanged = await rt.templates.update(dockerSlug, { dockerfile: created.dockerfile });
    assert.equal(unchanged.status, 'ready');
    assert.equal(unchanged.build?.id, ready.build?.id);
  });

  it('a failing RUN fails the build with its output in the log; the same definition again retries it', async () => {
    const created = await server.request('POST', '/v1/templates', {
      body: { slug: failSlug, dockerfile: 'FROM debian-13\nRUN echo about to fail && exit 3\n' },
    });
    assert.equal(created.status, 202);
    const failed = await rt.templates
      .waitForBuild(failSlug)
      .then(() => assert.fail('the build should fail'))
      .catch((e: unknown) => e);
    assert.ok(!(failed instanceof RunToolsApiError));
    assert.equal((failed as { code?: string }).code, 'template_build_failed');
    const template = await rt.templates.get(failSlug);
    assert.equal(template.status, 'failed');
    assert.equal(template.build?.error?.code, 'template_build_failed');
    const log: string[] = [];
    for await (const item of rt.templates.logs(failSlug, template.build?.id ?? '')) {
      if (item.type === 'log') log.push(item.line);
    }
    assert.ok(
      log.some((l) => l.includes('about to fail')),
      log.join('\n'),
    );
    assert.ok(log.some((l) => l.startsWith('error:')));
    // A client names the failing step from the log's step lines (buildah's here).
    const progress = templateBuildProgressOf(log);
    assert.equal(progress.step, 'RUN echo about to fail && exit 3');
    assert.ok(log.slice(progress.stepLine).some((l) => l.includes('about to fail')));

    const retried = await server.request('POST', '/v1/templates', {
      body: { slug: failSlug, dockerfile: 'FROM debian-13\nRUN echo about to fail && exit 3\n' },
    });
    assert.equal(retried.status, 202);
    assert.notEqual((retried.body as Template).build?.id, template.build?.id);
    await rt.templates.waitForBuild(failSlug).catch(() => {});
    await assert.rejects(ensureTemplateBuilt(server.store, t.engine, failSlug), {
      code: 'template_build_failed',
    });
    await rt.templates.delete(failSlug);
  });
  it('a replaced definition cancels the build of the old one, whose version never becomes current', async () => {
    const slow = await server.request('POST', '/v1/templates', {
      body: { slug: failSlug, dockerfile: 'FROM debian-13\nRUN echo slow && sleep 120\n' },
    });
    assert.equal(slow.status, 202);
    const slowBuild = (slow.body as Template).build as TemplateBuild;
    // Replaced once its RUN runs.
    for await (const item of rt.templates.logs(failSlug, slowBuild.id)) {
      if (item.type === 'log' && item.line.includes('slow')) break;
    }
    const started = Date.now();
    const fast = await server.request('PUT', `/v1/templates/${failSlug}`, {
      body: { dockerfile: 'FROM debian-13\nRUN echo fast > /which\n' },
    });
    assert.equal(fast.status, 202);
    assert.ok(Date.now() - started < 60_000, 'the old build was stopped, not waited for');
    const cancelled = await rt.templates.builds.get(failSlug, slowBuild.id);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(cancelled.error?.code, 'template_build_cancelled');
    const ready = await rt.templates.waitForBuild(failSlug);
    assert.equal((await t.engine.templates.get(failSlug)).version, ready.version);
    await rt.templates.delete(failSlug);
  });

  it('a server that lacks a defined template builds it from the stored definition on first use', async () => {
    const before = await rt.templates.get(dockerSlug);
    // This server's templates dir lost it (a wiped dir; a second machine); the engine restarts.
    await t.engine.templates.delete(dockerSlug, new Set());
    const engine = await t.restart();
    await ensureTemplateBuilt(server.store, engine, dockerSlug);
    await using sandbox = await engine.create({ template: dockerSlug });
    assert.equal((await sandbox.exec('cat /etc/built')).stdout.trim(), 'built-by-script');
    const builds = await server.store.templates.listBuilds(before.id ?? '');
    assert.equal(builds.items.length, 2);
    assert.equal(builds.items[0]?.status, 'ready');
    assert.equal(builds.items[0]?.version, before.version, 'the same definition, the same version');
    // Built once per process: the next call does not build again.
    await ensureTemplateBuilt(server.store, engine, dockerSlug);
    assert.equal((await server.store.templates.listBuilds(before.id ?? '')).items.length, 2);
    // System templates and unknown slugs are the engine's business.
    await ensureTemplateBuilt(server.store, engine, 'debian-13');
    await ensureTemplateBuilt(server.store, engine, 'no-such-template');
  });
});
