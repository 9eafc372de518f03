import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SandboxEngine } from '@runtools/sandbox';
import { devEngineDataDir } from './dev/dev-server.ts';

const REPO = resolve(import.meta.dirname, '..', '..', '..');
const PACKAGES = ['sdk', 'sandbox', 'agent', 'server', 'cli', 'dashboard'];
const API_KEY = 'tarball-test-key-0123456789abcdef';

/**
 * A user's environment: Node 24 first on PATH, no model keys (`model: 'auto'` is then the
 * scripted model), and none of this repository's settings (its `@runtools/source` condition
 * would point the installed packages at sources they do not ship).
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
    NO_COLOR: '1',
    RUNTOOLS_API_KEY: API_KEY,
  };
  delete env.NODE_OPTIONS;
  for (const name of Object.keys(env)) {
    if (name.startsWith('npm_')) delete env[name];
    if (/_(API_KEY|BASE_URL)$/.test(name) && name !== 'RUNTOOLS_API_KEY') delete env[name];
  }
  return env;
}

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, {
    cwd,
    env: userEnv(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 240_000,
  });
}

/**
 * The path a user takes once the packages are on the registry: the six packages packed as npm
 * would publish them, installed with npm into an empty folder outside the repository, a project
 * made with `npx create-runtools-app`, served by `runtools dev`, and a run over HTTP.
 */
describe('the packages as published: npm pack, npm install, create-runtools-app, runtools dev', () => {
  const work = mkdtempSync('/var/tmp/rt-install-');
  const app = join(work, 'app');
  const project = join(app, 'demo');
  let dev: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  let output = '';

  before(() => {
    for (const name of PACKAGES) {
      assert.ok(
        existsSync(join(REPO, 'packages', name, 'dist')),
        `packages/${name}/dist is missing: npm run build first`,
      );
    }
  });

  after(async () => {
    if (dev && dev.exitCode === null && dev.signalCode === null) {
      dev.kill('SIGKILL');
      await exited;
    }
    // Sandboxes of the project live outside it (see devEngineDataDir): through an engine first.
    if (existsSync(devEngineDataDir(project))) {
      const engine = await SandboxEngine.open({ dataDir: devEngineDataDir(project) });
      for (const s of engine.list()) await engine.delete(s.id).catch(() => {});
      await engine.close();
      rmSync(devEngineDataDir(project), { recursive: true, force: true });
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('installs from the tarballs and serves a new project whose run completes', async () => {
    const tarballs = join(work, 'tarballs');
    mkdirSync(tarballs);
    run(
      'npm',
      [
        'pack',
        '--silent',
        '--pack-destination',
        tarballs,
        ...PACKAGES.flatMap((p) => ['--workspace', `packages/${p}`]),
      ],
      REPO,
    );
    const packed = readdirSync(tarballs).filter((f) => f.endsWith('.tgz'));
    assert.equal(packed.length, PACKAGES.length, packed.join(', '));

    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
    run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        ...packed.map((f) => join(tarballs, f)),
      ],
      app,
    );
    // What a published package must not need: the repository's sources or its workspace.
    const installed = join(app, 'node_modules', '@runtools');
    for (const name of PACKAGES) {
      assert.ok(!existsSync(join(installed, name, 'src')), `${name} ships no sources`);
      assert.ok(existsSync(join(installed, name, 'README.md')), `${name} has its README`);
    }
    assert.ok(existsSync(join(installed, 'sandbox', 'native', 'build', 'rt-init')));

    run('npx', ['create-runtools-app', 'demo', '--yes'], app);
    assert.ok(existsSync(join(project, 'agents', 'code-assistant.ts')));

    // The installed bin itself (what `npx runtools` runs), so that signals reach it.
    dev = spawn(join(app, 'node_modules', '.bin', 'runtools'), ['dev', '--port', '0'], {
      cwd: project,
      env: userEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const child = dev;
    exited = new Promise((r) => child.on('exit', r));
    child.stdout?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const banner = /POST (http:\/\/127\.0\.0\.1:\d+)\/v1\/run\/code-assistant/;
    const deadline = Date.now() + 120_000;
    while (!banner.test(output)) {
      assert.ok(child.exitCode === null, `runtools dev exited:\n${output}`);
      assert.ok(Date.now() < deadline, `no banner after 120 s:\n${output}`);
      await sleep(100);
    }
    const url = banner.exec(output)?.[1] as string;
    // What the banner's curl line does.
    const response = await fetch(`${url}/v1/run/code-assistant`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'List the files in the working directory' }),
    });
    const body = (await response.json()) as {
      status: string;
      output: { text: string } | null;
      error: unknown;
    };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.status, 'completed', JSON.stringify(body.error));
    assert.ok((body.output?.text ?? '').length > 0);
    // The dashboard comes with the server package's dependency on @runtools/dashboard (built).
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script type="module" crossorigin src="\/assets\/index-/);

    child.kill('SIGINT');
    await exited;
    dev = undefined;
  });
});
