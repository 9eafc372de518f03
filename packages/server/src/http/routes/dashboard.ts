import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { Hono } from 'hono';

/**
 * The dashboard (`@runtools/dashboard`, built by `npm run build`) as static files: hashed assets
 * cached for a year, `index.html` revalidated, and every other page path answered with
 * `index.html` (the app routes in the browser). Its pages use only the public API, signed in with
 * a session cookie.
 */
export function dashboardRoutes(distDir: string | undefined = dashboardDist()): Hono {
  const app = new Hono();
  const types: Record<string, string> = {
    '.js': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
    '.html': 'text/html; charset=utf-8',
    '.svg': 'image/svg+xml',
    '.png': 'image/png',
    '.woff2': 'font/woff2',
    '.map': 'application/json',
    '.json': 'application/json',
  };
  const security = {
    // Only this server's own scripts, styles (xterm sets inline styles) and API, in no frame.
    'content-security-policy':
      "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
  };
  const index = async () => {
    if (distDir === undefined) return undefined;
    return readFile(join(distDir, 'index.html')).catch(() => undefined);
  };

  app.get('/assets/*', async (c) => {
    if (distDir === undefined) return c.notFound();
    const file = normalize(join(distDir, c.req.path));
    if (!file.startsWith(join(distDir, 'assets') + sep)) return c.notFound();
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return c.notFound();
    return c.body(await readFile(file), 200, {
      'content-type': types[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'public, max-age=31536000, immutable',
      ...security,
    });
  });
  app.get('*', async (c, next) => {
    const path = c.req.path;
    // The API and its documents are not pages.
    if (path.startsWith('/v1/') || path === '/v1' || path === '/health') return next();
    const html = await index();
    if (html === undefined) {
      return c.text(
        'The dashboard is not built: run `npm run build` in the RunTools checkout (the API works without it).',
        503,
      );
    }
    return c.body(html, 200, {
      'content-type': types['.html'] as string,
      'cache-control': 'no-cache',
      ...security,
    });
  });
  return app;
}

/** Where `@runtools/dashboard`'s build is, or undefined when the package is not installed. */
function dashboardDist(): string | undefined {
  try {
    const manifest = createRequire(import.meta.url).resolve('@runtools/dashboard/package.json');
    return join(dirname(manifest), 'dist');
  } catch {
    return undefined;
  }
}
