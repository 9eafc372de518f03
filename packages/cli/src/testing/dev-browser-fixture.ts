import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { TestModelServer } from '@runtools/agent/testing';
import { SandboxEngine } from '@runtools/sandbox';
import { RunTools } from '@runtools/sdk';
import { silentLogger } from '@runtools/server';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type DevServer, startDevServer } from '../dev/dev-server.ts';

const chromiumPath = process.env.RUNTOOLS_CHROMIUM ?? '/usr/bin/chromium';

/** Where browser tests write their screenshots (light and dark). */
export const artifactsDir = resolve(import.meta.dirname, '../../../dashboard/artifacts');

/** `runtools dev` on a project of its own, a scripted model, and headless Chromium. */
export interface DevBrowser extends AsyncDisposable {
  readonly root: string;
  readonly model: TestModelServer;
  readonly dev: DevServer;
  readonly browser: Browser;
  readonly apiKey: string;
  /** An SDK client of the dev server. */
  readonly rt: RunTools;
  /** A new page, signed in with the dev server's key, at `/` (then wherever the test goes). */
  signedIn(options?: { colorScheme?: 'light' | 'dark'; height?: number }): Promise<Page>;
}

/**
 * Starts `runtools dev` (the dashboard must be built) on a new project whose `files` (path →
 * text, given the scripted model's base URL) are written first, and Debian's Chromium. Disposing
 * of it stops both and removes the project and the engine's directory.
 */
export async function startDevBrowser(
  files: Record<string, (modelUrl: string) => string>,
): Promise<DevBrowser> {
  const root = mkdtempSync('/var/tmp/rt-dev-browser-project-');
  const engineDir = mkdtempSync('/var/tmp/rt-dev-browser-engine-');
  const apiKey = `rt-dev-browser-key-${process.pid}-0123456789abcdef`;
  const model = await TestModelServer.start();
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text(model.baseURL));
  }
  const dev = await startDevServer({
    root,
    port: 0,
    host: '127.0.0.1',
    apiKey,
    modelEnv: {},
    engineDataDir: engineDir,
    debounceMs: 50,
    reporter: { log: silentLogger },
  });
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  mkdirSync(artifactsDir, { recursive: true });
  const close = async () => {
    await browser.close();
    await dev.stop();
    await model.close();
    const engine = await SandboxEngine.open({ dataDir: engineDir });
    for (const s of engine.list()) await engine.delete(s.id).catch(() => {});
    await engine.close();
    rmSync(engineDir, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  };
  return {
    root,
    model,
    dev,
    browser,
    apiKey,
    rt: new RunTools({ apiKey, baseUrl: dev.url }),
    async signedIn({ colorScheme = 'light', height = 900 } = {}) {
      const context = await browser.newContext({
        baseURL: dev.url,
        colorScheme,
        viewport: { width: 1280, height },
      });
      const page = await context.newPage();
      page.setDefaultTimeout(30_000);
      await page.goto('/');
      await page.getByLabel('API key').fill(apiKey);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('navigation', { name: 'Main' }).waitFor();
      return page;
    },
    [Symbol.asyncDispose]: close,
  };
}
