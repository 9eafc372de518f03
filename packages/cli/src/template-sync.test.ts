import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readTemplateSource } from './template-sync.ts';

describe('readTemplateSource: a template definition from a path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runtools-template-source-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a directory: its Dockerfile, and the other files as the context (binary and executable as base64 with their mode)', async () => {
    const tpl = join(dir, 'my-app');
    mkdirSync(join(tpl, 'bin'), { recursive: true });
    mkdirSync(join(tpl, '.git'));
    writeFileSync(join(tpl, 'Dockerfile'), 'FROM debian-13\nCOPY . /app\n');
    writeFileSync(join(tpl, 'readme.txt'), 'text\n');
    writeFileSync(join(tpl, 'bin', 'run'), '#!/bin/sh\n', { mode: 0o755 });
    writeFileSync(join(tpl, 'blob.bin'), Buffer.from([0xff, 0x00, 0xfe]));
    writeFileSync(join(tpl, '.git', 'HEAD'), 'ignored');
    assert.deepEqual(await readTemplateSource(tpl), {
      slug: 'my-app',
      dockerfile: 'FROM debian-13\nCOPY . /app\n',
      files: {
        'bin/run': {
          content: Buffer.from('#!/bin/sh\n').toString('base64'),
          encoding: 'base64',
          mode: 0o755,
        },
        'blob.bin': { content: '/wD+', encoding: 'base64', mode: 0o644 },
        'readme.txt': 'text\n',
      },
    });
    assert.equal((await readTemplateSource(tpl, 'renamed')).slug, 'renamed');
  });

  it('a spec file: the whole object, or { slug, spec }', async () => {
    const bare = join(dir, 'python-tools.json');
    writeFileSync(bare, JSON.stringify({ os: 'debian-13', apt: ['git'] }));
    assert.deepEqual(await readTemplateSource(bare), {
      slug: 'python-tools',
      spec: { os: 'debian-13', apt: ['git'] },
    });
    const wrapped = join(dir, 'wrapped.json');
    writeFileSync(wrapped, JSON.stringify({ slug: 'named', spec: { os: 'debian-12' } }));
    assert.deepEqual(await readTemplateSource(wrapped), {
      slug: 'named',
      spec: { os: 'debian-12' },
    });
  });

  it('anything else is template_invalid', async () => {
    await assert.rejects(readTemplateSource(join(dir, 'missing')), { code: 'template_invalid' });
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    await assert.rejects(readTemplateSource(empty), { code: 'template_invalid' });
  });
});
