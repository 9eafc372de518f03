import { createHash } from 'node:crypto';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { maxBundleBytes, RunToolsError } from '@runtools/sdk';
import { build, type Plugin } from 'esbuild';

/** An agent file bundled with everything it imports: what a server's tool runner loads. */
export interface AgentBundle {
  /** One ES module for Node. */
  code: Uint8Array;
  /** SHA-256 of `code`, lowercase hex: the bundle's name on the server. */
  sha256: string;
  /** The project's files in it (relative to the project root), for watching. */
  files: string[];
}

/**
 * This CLI runs from its TypeScript sources in a checkout of RunTools (then the workspace
 * packages are bundled from theirs, as Node loads them), or from `dist/` once installed.
 */
const fromSource = import.meta.url.endsWith('.ts');

/**
 * An ES module may still `require()` Node's own modules in bundled CommonJS code: give it the
 * `require` that ESM lacks.
 */
const requireBanner =
  "import { createRequire as __runtoolsCreateRequire } from 'node:module';\n" +
  'const require = __runtoolsCreateRequire(import.meta.url);';

/**
 * A project without `@runtools/sdk` or `zod` of its own (the project loader lends it its copies)
 * gets the copies this CLI uses in the bundle too.
 */
const lentPackages: Plugin = {
  name: 'runtools-lent-packages',
  setup(b) {
    b.onResolve({ filter: /^(@runtools\/sdk|zod)(\/.*)?$/ }, async (args) => {
      if ((args.pluginData as { lent?: boolean } | undefined)?.lent) return undefined;
      const own = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { lent: true },
      });
      if (own.errors.length === 0) return own;
      try {
        return { path: fileURLToPath(import.meta.resolve(args.path)) };
      } catch {
        return undefined;
      }
    });
  },
};

/**
 * Bundles an agent file (`agents/support-bot/index.ts`) with everything it imports, packages
 * included (`@runtools/sdk`, `zod`, the project's own dependencies), into one ES module for
 * Node with esbuild: the code a server's tool runner loads to run the agent's custom tools. The
 * same sources give the same bytes, so an unchanged project keeps its hash. A file that does not
 * build is a `load_failed` error listing esbuild's messages.
 */
export async function bundleAgent(root: string, file: string): Promise<AgentBundle> {
  const absRoot = resolve(root);
  let result: Awaited<ReturnType<typeof build<{ write: false; metafile: true }>>>;
  try {
    result = await build({
      entryPoints: [join(absRoot, file)],
      absWorkingDir: absRoot,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      write: false,
      metafile: true,
      outfile: 'bundle.mjs',
      logLevel: 'silent',
      legalComments: 'none',
      ...(fromSource ? { conditions: ['@runtools/source'] } : {}),
      banner: { js: requireBanner },
      plugins: [lentPackages],
    });
  } catch (error) {
    const messages = (
      (
        error as {
          errors?: Array<{ text: string; location?: { file: string; line: number } | null }>;
        }
      ).errors ?? []
    ).map((m) => (m.location ? `${m.location.file}:${m.location.line}: ${m.text}` : m.text));
    throw new RunToolsError(
      'load_failed',
      `${file} could not be bundled: ${messages.join('; ') || (error as Error).message}`,
      { details: { file, errors: messages } },
    );
  }
  const output = result.outputFiles[0];
  if (output === undefined) {
    throw new RunToolsError('load_failed', `${file} could not be bundled: esbuild wrote nothing.`);
  }
  if (output.contents.byteLength > maxBundleBytes) {
    throw new RunToolsError(
      'load_failed',
      `${file} bundles to ${output.contents.byteLength} bytes; a server takes at most ${maxBundleBytes}.`,
      { details: { file, bytes: output.contents.byteLength } },
    );
  }
  const files = Object.keys(result.metafile.inputs)
    .map((input) => relative(absRoot, resolve(absRoot, input)))
    .filter((input) => !input.startsWith('..') && !input.split('/').includes('node_modules'))
    .sort();
  return {
    code: output.contents,
    sha256: createHash('sha256').update(output.contents).digest('hex'),
    files,
  };
}
