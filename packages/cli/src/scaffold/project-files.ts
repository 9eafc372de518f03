/** What a new project is made from (`runtools init`, `create-runtools-app`). */
export interface ProjectFilesOptions {
  /** The package name (lowercase, e.g. `my-agents`). */
  name: string;
  /** The `model` of the example agent (default `auto`). */
  model?: string;
  /** The version range of `@runtools/sdk` in package.json. */
  sdkVersion?: string;
}

/** The files of a new project, by path relative to its root, in the order they are listed. */
export function projectFiles(options: ProjectFilesOptions): Record<string, string> {
  const model = options.model ?? 'auto';
  return {
    'runtools.config.ts': `import { defineConfig } from '@runtools/sdk';

export default defineConfig({
  // The sandbox template of agents that name none. System templates: debian-13, nodejs-20,
  // python-ml, full-stack; your own are templates/NAME/Dockerfile.
  defaultTemplate: 'debian-13',
  // \`runtools dev\` serves on this port unless --port says otherwise.
  dev: { port: 3000 },
});
`,
    'agents/code-assistant.ts': `import { defineAgent } from '@runtools/sdk';

/**
 * Served at POST /v1/run/code-assistant (and WS /v1/run/code-assistant/stream).${
   model === 'auto'
     ? `
 * model: 'auto' uses Claude when ANTHROPIC_API_KEY is set, else OpenAI (OPENAI_API_KEY), else
 * Gemini (GOOGLE_GENERATIVE_AI_API_KEY), else RunTools' scripted demo model, which needs no key.`
     : ''
 }
 */
export default defineAgent({
  slug: 'code-assistant',
  name: 'Code assistant',
  description: 'Reads, writes and runs code in its own sandbox.',
  model: '${model.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}',
  template: 'nodejs-20',
  tools: ['bash', 'read_file', 'edit_file', 'grep', 'glob', 'web_search'],
  maxSteps: 30,
  systemPrompt: \`You are a careful software engineer working in a Linux sandbox with Node.js 20,
npm, git and ripgrep. The sandbox is yours: nothing you do there can harm the user's machine.

How to work:
- Look before you act: find files with glob and grep, read them with read_file.
- Change files with edit_file (exact replacements), not by rewriting whole files with bash.
- Run code, tests and linters with bash, and check the output before you claim success.
- Keep going until the task is done; if something fails, read the error and fix the cause.
- When you are done, answer briefly: what you did, what you found, and anything left to do.
  Quote the commands and file paths you used.\`,
});
`,
    'templates/Dockerfile.example': `# A custom sandbox template: copy this file to templates/NAME/Dockerfile (one directory per
# template), then use it from an agent with template: 'NAME'. \`runtools deploy\` builds it
# (without a Docker daemon); the build context is the template's directory.
#
# FROM debian-13
# RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip \\
#  && rm -rf /var/lib/apt/lists/*
# COPY requirements.txt /tmp/requirements.txt
# RUN pip install --break-system-packages -r /tmp/requirements.txt
# ENV PYTHONUNBUFFERED=1
# WORKDIR /workspace
`,
    'package.json': `${JSON.stringify(
      {
        name: options.name,
        version: '0.1.0',
        private: true,
        type: 'module',
        scripts: { dev: 'runtools dev', deploy: 'runtools deploy', typecheck: 'tsc' },
        dependencies: { '@runtools/sdk': options.sdkVersion ?? '^0.1.0' },
        devDependencies: { '@types/node': '^24.0.0', typescript: '^7.0.0' },
        engines: { node: '>=24' },
      },
      null,
      2,
    )}\n`,
    'tsconfig.json': `${JSON.stringify(
      {
        // Node runs the TypeScript files as they are (type stripping); this is for editors and tsc.
        compilerOptions: {
          target: 'es2024',
          lib: ['es2024', 'esnext.disposable'],
          types: ['node'],
          module: 'nodenext',
          moduleResolution: 'nodenext',
          allowImportingTsExtensions: true,
          erasableSyntaxOnly: true,
          verbatimModuleSyntax: true,
          noEmit: true,
          strict: true,
          skipLibCheck: true,
        },
        include: ['runtools.config.ts', 'agents'],
      },
      null,
      2,
    )}\n`,
    '.gitignore': 'node_modules/\n.runtools/\n',
  };
}
