import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loopbackRanges } from '@runtools/agent';
import { TestModelServer } from '@runtools/agent/testing';
import { RunTools } from '@runtools/sdk';
import { type RunningServer, silentLogger, startServer } from '@runtools/server';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

const templatesDir = process.env.RUNTOOLS_TEMPLATES_DIR ?? '/var/lib/runtools/templates';
/** Debian's chromium (setup.sh installs it); playwright-core downloads no browser. */
const chromiumPath = process.env.RUNTOOLS_CHROMIUM ?? '/usr/bin/chromium';
/** Where the tests write screenshots of the pages (light and dark). */
export const artifactsDir = resolve(import.meta.dirname, '../artifacts');

export interface Dashboard extends AsyncDisposable {
  readonly url: string;
  /** The server's bootstrap key (every scope). */
  readonly apiKey: string;
  readonly server: RunningServer;
  /** The scripted model deployed agents call: `model.push(...)` their next answers. */
  readonly model: TestModelServer;
  /** An SDK client with the bootstrap key, to arrange and check what the pages did. */
  readonly rt: RunTools;
  readonly browser: Browser;
  /** A new browser context (its own cookies) with a page signed in with `key` (default: bootstrap). */
  signedIn(key?: string, options?: { colorScheme?: 'light' | 'dark' }): Promise<Page>;
  /** Creates a runtime on the scripted model (with `bash`) and its deployment on debian-13. */
  /** A deployment of the scripted model with bash (and `extra` fields of its definition). */
  deployScriptedAgent(slug: string, extra?: Record<string, unknown>): Promise<string>;
  /** Writes `name`.png of the page into the artifacts folder. */
  screenshot(page: Page, name: string): Promise<void>;
}

/**
 * The real server on loopback (SQLite, a sandbox engine with the host's templates, a run worker,
 * the built dashboard), the scripted model, and headless Chromium driven by playwright-core.
 * The dashboard must be built (`npm run build`).
 */
export async function startDashboard(
  serverOptions: Pick<
    Parameters<typeof startServer>[0],
    'integrationBaseUrls' | 'integrationAllow'
  > = {},
): Promise<Dashboard> {
  const dataDir = mkdtempSync('/var/tmp/rt-dashboard-');
  const engineDataDir = mkdtempSync('/var/tmp/rt-dashboard-engine-');
  const apiKey = `rt-dashboard-test-key-${process.pid}-0123456789abcdef`;
  const model = await TestModelServer.start();
  const server = await startServer({
    dataDir,
    engineDataDir,
    templatesDir,
    port: 0,
    apiKey,
    rateLimit: false,
    logger: silentLogger,
    modelEndpointAllow: loopbackRanges,
    webhookAllow: loopbackRanges,
    ...serverOptions,
  });
  const rt = new RunTools({ baseUrl: server.url, apiKey });
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // Root in CI: Chromium's own sandbox needs user namespaces it cannot get here.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  const contexts: BrowserContext[] = [];
  mkdirSync(artifactsDir, { recursive: true });
  return {
    url: server.url,
    apiKey,
    server,
    model,
    rt,
    browser,
    async signedIn(key = apiKey, options = {}) {
      const context = await browser.newContext({
        baseURL: server.url,
        colorScheme: options.colorScheme ?? 'light',
        viewport: { width: 1280, height: 800 },
      });
      contexts.push(context);
      const page = await context.newPage();
      await page.goto('/');
      await page.getByLabel('API key').fill(key);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('navigation', { name: 'Main' }).waitFor();
      return page;
    },
    async deployScriptedAgent(slug, extra = {}) {
      const runtime = await rt.runtimes.create({
        slug,
        model: { provider: 'custom', endpoint: model.baseURL, model: 'scripted' },
        systemPrompt: 'You are a test agent.',
        tools: ['bash'],
        ...extra,
      });
      const deployment = await rt.deployments.create({
        apiSlug: slug,
        runtimeId: runtime.id,
        template: 'debian-13',
      });
      return deployment.id;
    },
    async screenshot(page, name) {
      await page.screenshot({ path: join(artifactsDir, `${name}.png`), fullPage: true });
    },
    async [Symbol.asyncDispose]() {
      for (const context of contexts) await context.close().catch(() => {});
      await browser.close();
      const running = async () =>
        (await server.store.runs.list({ status: ['running'], limit: 100 })).items;
      for (const run of await running()) server.worker.cancel(run.id);
      for (let i = 0; i < 200 && (await running()).length > 0; i += 1) {
        await new Promise((r) => setTimeout(r, 50));
      }
      for (const sandbox of server.engine.list()) {
        await server.engine.delete(sandbox.id).catch(() => {});
      }
      await server.stop();
      await model.close();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(engineDataDir, { recursive: true, force: true });
    },
  };
}
