import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TEST_TEMPLATES_DIR, useTestEngine } from '../testing/test-engine.ts';
import { TemplateStore } from './template-store.ts';

describe('Dockerfile templates in the store', () => {
  const t = useTestEngine('dftpl');
  const store = new TemplateStore({ dir: TEST_TEMPLATES_DIR, idBase: 100_000 });
  const slug = `rt-test-df-${process.pid}`;
  const context = mkdtempSync('/var/tmp/rt-df-ctx-');
  after(async () => {
    await store.delete(slug, new Set()).catch(() => {});
    rmSync(context, { recursive: true, force: true });
  });

  it('builds FROM a system template, caches by content, and boots sandboxes from it', async () => {
    writeFileSync(join(context, 'greeting.txt'), 'hello from the context\n');
    const dockerfile = [
      'FROM debian-13',
      'COPY greeting.txt /srv/greeting.txt',
      'RUN echo built > /etc/built && useradd -m app',
      'ENV APP_MODE=test',
      'WORKDIR /srv',
    ].join('\n');
    const log: string[] = [];
    const info = await store.build(
      { kind: 'dockerfile', slug, dockerfile, contextDir: context },
      { onLog: (l) => log.push(l) },
    );
    assert.equal(info.kind, 'dockerfile');
    assert.equal(info.cwd, '/srv');
    assert.ok(log.length > 3, 'the build log streamed');

    await using sbx = await t.engine.create({ template: slug });
    const r = await sbx.exec(
      'cat /etc/built greeting.txt; echo $APP_MODE; pwd; id -u app; rg --version | head -1',
    );
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').slice(0, 5), [
      'built',
      'hello from the context',
      'test',
      '/srv',
      '1000',
    ]);

    // Same Dockerfile and context: cached. A changed context file: a new version.
    const again = await store.build({ kind: 'dockerfile', slug, dockerfile, contextDir: context });
    assert.equal(again.version, info.version);
    writeFileSync(join(context, 'greeting.txt'), 'changed\n');
    const changed = await store.build({
      kind: 'dockerfile',
      slug,
      dockerfile,
      contextDir: context,
    });
    assert.notEqual(changed.version, info.version);
  });

  it('reports Dockerfile errors as typed errors and keeps the previous version', async () => {
    const before = await store.get(slug);
    await assert.rejects(store.build({ kind: 'dockerfile', slug, dockerfile: 'RUN true' }), {
      code: 'template_invalid',
    });
    await assert.rejects(
      store.build({ kind: 'dockerfile', slug, dockerfile: 'FROM debian-13\nFROB x' }),
      {
        code: 'template_invalid',
      },
    );
    await assert.rejects(
      store.build({
        kind: 'dockerfile',
        slug,
        dockerfile: 'FROM debian-13\nRUN echo about to fail && exit 3',
      }),
      (err: Error & { code?: string; details?: Record<string, unknown> }) => {
        assert.equal(err.code, 'template_build_failed');
        assert.match(String(err.details?.step), /exit 3/);
        assert.match(String(err.details?.output), /about to fail/);
        return true;
      },
    );
    assert.equal((await store.get(slug)).version, before.version);
    await assert.rejects(
      store.build({ kind: 'dockerfile', slug: 'debian-13', dockerfile: 'FROM scratch' }),
      {
        code: 'template_exists',
      },
    );
  });
});
