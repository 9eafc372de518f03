import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { dashboardRoutes } from './dashboard.ts';

describe('dashboard static files', () => {
  const dist = mkdtempSync(join(tmpdir(), 'runtools-dashboard-dist-'));
  mkdirSync(join(dist, 'assets'));
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>RunTools</title>');
  writeFileSync(join(dist, 'assets', 'app-abc123.js'), 'console.log(1)');
  writeFileSync(join(dist, 'secret.txt'), 'not an asset');
  const app = dashboardRoutes(dist);
  after(() => rmSync(dist, { recursive: true, force: true }));

  it('serves hashed assets for a year and the page revalidated, with a strict CSP', async () => {
    const asset = await app.request('/assets/app-abc123.js');
    assert.equal(asset.status, 200);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.match(asset.headers.get('content-type') ?? '', /text\/javascript/);
    for (const path of ['/', '/runs/run_123', '/sandboxes']) {
      const page = await app.request(path);
      assert.equal(page.status, 200, path);
      assert.equal(await page.text(), '<!doctype html><title>RunTools</title>');
      assert.equal(page.headers.get('cache-control'), 'no-cache');
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    }
  });

  it('serves nothing outside assets/ and leaves the API alone', async () => {
    for (const path of ['/assets/../secret.txt', '/assets/%2e%2e/secret.txt', '/assets/nope.js']) {
      const response = await app.request(path);
      assert.notEqual(await response.text(), 'not an asset', path);
    }
    assert.equal((await app.request('/v1/runs')).status, 404, 'no page for API paths');
  });

  it('says how to build it when the build is missing', async () => {
    const response = await dashboardRoutes(join(dist, 'missing')).request('/');
    assert.equal(response.status, 503);
    assert.match(await response.text(), /npm run build/);
  });
});
