import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useTestEngine } from '../testing/test-engine.ts';

// The first run on a machine builds these from Debian packages (~1-2 min each); later runs use
// the cached templates in RUNTOOLS_TEMPLATES_DIR.
describe('system templates', () => {
  const t = useTestEngine('systpl');

  it('nodejs-20 has Node.js 20, npm, pnpm, Bun, git and ripgrep', async () => {
    const info = await t.engine.templates.get('nodejs-20');
    assert.match(info.versions.node ?? '', /^20\./);
    await using sbx = await t.engine.create({ template: 'nodejs-20' });
    const r = await sbx.exec(
      'node -e "console.log(process.versions.node)"; npm --version; pnpm --version; bun --version; git --version; rg --version | head -1',
    );
    assert.equal(r.exitCode, 0, r.stderr);
    const [node, npm, pnpm, bun, git, rg] = r.stdout.trim().split('\n');
    assert.match(node ?? '', /^20\./);
    assert.match(npm ?? '', /^\d+\./);
    assert.match(pnpm ?? '', /^\d+\./);
    assert.match(bun ?? '', /^\d+\./);
    assert.match(git ?? '', /^git version/);
    assert.match(rg ?? '', /^ripgrep/);
    assert.equal(info.versions.pnpm, pnpm);
    assert.equal(info.versions.bun, bun);
    // Bun runs code, not only --version.
    assert.equal((await sbx.exec('bun -e "console.log(6 * 7)"')).stdout, '42\n');
  });

  it('python-ml imports NumPy, Pandas and PyTorch', async () => {
    const info = await t.engine.templates.get('python-ml');
    assert.ok(info.versions['python3-torch'], 'torch version recorded');
    await using sbx = await t.engine.create({
      template: 'python-ml',
      resources: { memoryMiB: 2048 },
    });
    const r = await sbx.exec([
      'python3',
      '-c',
      'import numpy, pandas, torch; print(numpy.__version__, pandas.__version__, torch.__version__); print(int(torch.tensor([2, 3]).prod()))',
    ]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\S* \d+\.\d+\S* \d+\.\d+\S*\n6\n$/);
    assert.equal(
      (await sbx.exec('pip --version && git --version && rg --version >/dev/null')).exitCode,
      0,
    );
  });

  it('full-stack starts and uses PostgreSQL and Redis inside the sandbox', async () => {
    await t.engine.templates.get('full-stack');
    await using sbx = await t.engine.create({
      template: 'full-stack',
      resources: { memoryMiB: 1024 },
    });
    const pg = await sbx.exec(
      `set -e
       PG=$(ls -d /usr/lib/postgresql/*/bin | head -1)
       mkdir -p /tmp/pg && chown postgres /tmp/pg
       su postgres -s /bin/sh -c "$PG/initdb -D /tmp/pg/data -A trust >/dev/null && $PG/pg_ctl -D /tmp/pg/data -l /tmp/pg/log -o '-k /tmp/pg' -w start >/dev/null"
       su postgres -s /bin/sh -c "psql -h /tmp/pg -tAc 'select 40 + 2'"`,
      { timeoutMs: 60_000 },
    );
    assert.equal(pg.exitCode, 0, pg.stderr + pg.stdout);
    assert.equal(pg.stdout.trim().split('\n').at(-1), '42');
    const redis = await sbx.exec(
      'redis-server --daemonize yes --port 6379 >/dev/null && sleep 0.3 && redis-cli set k v >/dev/null && redis-cli get k',
    );
    assert.equal(redis.stdout.trim(), 'v', redis.stderr);
    const both = await sbx.exec(
      'node --version && python3 --version && git --version && rg --version | head -1',
    );
    assert.equal(both.exitCode, 0, both.stderr);
  });
});
