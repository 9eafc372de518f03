import { type SandboxEngine, SYSTEM_TEMPLATES } from '@runtools/sandbox';
import { RunToolsError } from '@runtools/sdk';
import type { Store } from '../store/store.ts';
import type { TemplateBuild } from '../store/templates.ts';
import { templateBuilder } from './template-builder.ts';

/**
 * Makes sure the template `slug` defined through the API is built on this server before a sandbox
 * is created from it: built templates live on each server's disk, so a second server, or this
 * one after its templates directory was wiped, builds it from the stored definition on first use
 * (recorded as a build like any other, with its log). Call it before `engine.create`.
 *
 * Returns at once for system templates (the engine builds those itself), for slugs the API does
 * not know (the engine then answers `template_not_found`, or uses a template built without the
 * API), and, after the first check, for a definition this process has seen built. Throws
 * `template_build_failed` when the build fails, or when the latest build of this definition
 * failed (a re-POST of the definition retries it).
 *
 * @example
 * await ensureTemplateBuilt(store, engine, deployment.templateSlug);
 * const sandbox = await engine.create({ template: deployment.templateSlug });
 */
export async function ensureTemplateBuilt(
  store: Store,
  engine: SandboxEngine,
  slug: string,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  if (SYSTEM_TEMPLATES[slug] !== undefined) return;
  const template = await store.templates.get(slug);
  if (template === undefined) return;
  const builder = templateBuilder(engine);
  if (builder.isEnsured(template)) return;

  const running = builder.running(template);
  if (running !== undefined) {
    assertReady(await abortable(running.done, options.signal));
    return;
  }
  const ready = await store.templates.latestReadyBuild(template.id, template.definitionHash);
  if (ready !== undefined) {
    const local = await engine.templates.get(slug).catch(() => undefined);
    if (local?.version === ready.version) {
      builder.markEnsured(template);
      return;
    }
  } else {
    await store.templates.failAbandonedBuilds();
    const latest = await store.templates.latestBuild(template.id, template.definitionHash);
    if (latest?.status === 'failed' && latest.error?.code !== 'build_abandoned') {
      assertReady(latest);
    }
  }
  // Built elsewhere, or never: build here (a version already on disk is reused by the engine).
  const { done } = await builder.start(store, template);
  assertReady(await abortable(done, options.signal));
}

/**
 * Stops waiting when `signal` aborts (a cancelled run); the build itself goes on, for whoever
 * needs the template next.
 */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function assertReady(build: TemplateBuild): void {
  if (build.status === 'ready') return;
  throw new RunToolsError(
    'template_build_failed',
    `Template "${build.slug}" is not built: its build ${build.id} ${build.status}` +
      `${build.error ? ` (${build.error.code}: ${build.error.message.split('\n')[0]})` : ''}.`,
    { details: { template: build.slug, buildId: build.id, status: build.status } },
  );
}
