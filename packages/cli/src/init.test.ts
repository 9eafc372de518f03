import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadProjectStrict } from '@runtools/agent';

const NODE = process.execPath;
const RUNTOOLS = resolve(import.meta.dirname, 'bin/runtools.ts');
const CREATE = resolve(import.meta.dirname, 'bin/create-runtools-app.ts');
const SDK = realpathSync(resolve(import.meta.dirname, '../../sdk'));
const TSC = resolve(import.meta.dirname, '../../../node_modules/.bin/tsc');

/** Runs a CLI as a child process (stdin not a terminal) and collects its output. */
function cli(
  bin: string,
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(NODE, [bin, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

const FILES = [
  'runtools.config.ts',
  'agents/code-assistant.ts',
  'templates/Dockerfile.example',
  'package.json',
  'tsconfig.json',
  '.gitignore',
];

describe('runtools init and create-runtools-app (the real CLI as a child process)', () => {
  const work = mkdtempSync('/var/tmp/rt-cli-init-');
  after(() => rmSync(work, { recursive: true, force: true }));

  it('scaffolds a project that loads as it is: code-assistant with the core tools, nodejs-20, auto', async () => {
    const dir = join(work, 'first');
    const r = await cli(RUNTOOLS, ['init', dir], work);
    assert.equal(r.code, 0, r.stderr);
    for (const file of FILES) assert.ok(existsSync(join(dir, file)), `${file} was written`);
    assert.match(r.stdout, /\+ agents\/code-assistant\.ts/);
    assert.match(r.stdout, /runtools dev/);
    // @runtools/sdk resolves from the project before anything is published: a link to this copy.
    const link = join(dir, 'node_modules/@runtools/sdk');
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(realpathSync(link), SDK);
    assert.ok(lstatSync(join(dir, 'node_modules/@types/node')).isSymbolicLink(), 'types for tsc');
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    assert.equal(pkg.name, 'first');
    assert.ok(pkg.dependencies['@runtools/sdk']);
    assert.match(readFileSync(join(dir, '.gitignore'), 'utf8'), /^\.runtools\/$/m);

    const project = await loadProjectStrict(dir);
    assert.equal(project.agents.length, 1);
    const agent = project.agents[0]?.agent;
    assert.equal(agent?.slug, 'code-assistant');
    assert.equal(agent?.model, 'auto');
    assert.equal(agent?.template, 'nodejs-20');
    assert.deepEqual(agent?.tools, [
      'bash',
      'read_file',
      'edit_file',
      'grep',
      'glob',
      'web_search',
    ]);
    assert.ok((agent?.systemPrompt.length ?? 0) > 200);
    // The example Dockerfile is not a template.
    assert.deepEqual(project.templates, []);
    // And it type-checks with its own tsconfig.json, as an editor would.
    const tsc = spawnSync(TSC, ['-p', dir], { encoding: 'utf8' });
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  });

  it('never overwrites without --force: exit 1, the existing files listed, nothing written', async () => {
    const dir = join(work, 'second');
    mkdirSync(join(dir, 'agents'), { recursive: true });
    writeFileSync(join(dir, 'agents/code-assistant.ts'), '// mine\n');
    writeFileSync(join(dir, 'package.json'), '{"name":"mine"}\n');
    writeFileSync(join(dir, '.gitignore'), 'dist');
    const r = await cli(RUNTOOLS, ['init', '--yes'], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /files_exist/);
    assert.match(r.stderr, /agents\/code-assistant\.ts, package\.json/);
    assert.match(r.stderr, /--force/);
    assert.equal(readFileSync(join(dir, 'agents/code-assistant.ts'), 'utf8'), '// mine\n');
    assert.ok(!existsSync(join(dir, 'runtools.config.ts')), 'nothing was written');

    const forced = await cli(RUNTOOLS, ['init', '--force', '--name', 'forced'], dir);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /package\.json \(overwritten\)/);
    assert.match(readFileSync(join(dir, 'agents/code-assistant.ts'), 'utf8'), /defineAgent/);
    assert.equal(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name, 'forced');
    // An existing .gitignore is kept and gets the lines it lacked.
    assert.equal(
      readFileSync(join(dir, '.gitignore'), 'utf8'),
      'dist\nnode_modules/\n.runtools/\n',
    );
  });

  it('rejects a wrong command line with exit code 2', async () => {
    for (const args of [
      ['init', '--bogus'],
      ['init', join(work, 'bad'), '--name', 'Not A Name'],
      ['init', join(work, 'bad'), '--model', ''],
      ['init', 'a', 'b'],
    ]) {
      const r = await cli(RUNTOOLS, args, work);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /error/);
    }
    assert.ok(!existsSync(join(work, 'bad')));
    const noName = await cli(CREATE, [], work);
    assert.equal(noName.code, 2);
    assert.match(noName.stderr, /name/);
  });

  it('create-runtools-app NAME makes the folder and the project in it', async () => {
    const r = await cli(CREATE, ['my-agents', '--model', 'scripted'], work);
    assert.equal(r.code, 0, r.stderr);
    const dir = join(work, 'my-agents');
    for (const file of FILES) assert.ok(existsSync(join(dir, file)), `${file} was written`);
    assert.equal(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name, 'my-agents');
    assert.match(r.stdout, /cd my-agents/);
    const project = await loadProjectStrict(dir);
    assert.equal(project.agents[0]?.agent.model, 'scripted');
    const again = await cli(CREATE, ['my-agents'], work);
    assert.equal(again.code, 1);
  });
});
