/**
 * Template build benchmark: `npm run bench:templates` (as root, after `bash scripts/setup.sh`).
 * In an empty templates directory: a debian-13 spec with no extra packages (cold: the OS base is
 * built from the Debian mirror first), another one (warm base: a copy), one with `apt: ['jq']`;
 * then every system template, then again (cached), and a Dockerfile template FROM debian-13 cold
 * and cached; prints the times and root filesystem sizes. Takes a few minutes; needs the mirror
 * and npm registry.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeTree } from '../src/host/remove-tree.ts';
import { SYSTEM_TEMPLATES, type TemplateSpecInput } from '../src/templates/template-spec.ts';
import { TemplateStore } from '../src/templates/template-store.ts';

const dir = await mkdtemp('/var/tmp/rt-bench-templates-');
const store = new TemplateStore({ dir, idBase: 100_000 });
const rows: string[] = [];
const started = Date.now();
try {
  const specs: Array<[string, TemplateSpecInput]> = [
    ['spec, no extra packages (cold base)', { slug: 'bench-a', os: 'debian-13', env: { A: '1' } }],
    ['spec, no extra packages (warm base)', { slug: 'bench-b', os: 'debian-13', env: { B: '1' } }],
    ["spec with apt: ['jq'] (warm base)", { slug: 'bench-c', os: 'debian-13', apt: ['jq'] }],
  ];
  for (const [label, spec] of specs) {
    let lines = 0;
    const t0 = performance.now();
    const info = await store.build({ kind: 'spec', spec }, { onLog: () => lines++ });
    const cold = performance.now() - t0;
    const t1 = performance.now();
    await store.build({ kind: 'spec', spec });
    const cached = performance.now() - t1;
    rows.push(
      `| ${label} | ${(cold / 1000).toFixed(1)} s | ${cached.toFixed(1)} ms | ${(info.sizeBytes / 1e6).toFixed(0)} MB | ${lines} | |`,
    );
    console.error(rows.at(-1));
  }
  for (const slug of Object.keys(SYSTEM_TEMPLATES)) {
    let lines = 0;
    const t0 = performance.now();
    const info = await store.get(slug, { onLog: () => lines++ });
    const cold = performance.now() - t0;
    const t1 = performance.now();
    await store.get(slug);
    const cached = performance.now() - t1;
    const versions = Object.entries(info.versions)
      .filter(([k]) =>
        [
          'node',
          'npm',
          'pnpm',
          'bun',
          'python',
          'python3-numpy',
          'python3-pandas',
          'python3-torch',
          'postgresql',
          'redis-server',
        ].includes(k),
      )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    rows.push(
      `| ${slug} | ${(cold / 1000).toFixed(1)} s | ${cached.toFixed(1)} ms | ${(info.sizeBytes / 1e6).toFixed(0)} MB | ${lines} | ${versions} |`,
    );
    console.error(rows.at(-1));
  }
  const context = await mkdtemp(join(dir, 'ctx-'));
  await writeFile(join(context, 'app.txt'), 'app\n');
  const def = {
    kind: 'dockerfile' as const,
    slug: 'bench-dockerfile',
    dockerfile:
      'FROM debian-13\nCOPY app.txt /srv/app.txt\nRUN echo built > /etc/built\nWORKDIR /srv',
    contextDir: context,
  };
  const t0 = performance.now();
  const info = await store.build(def);
  const cold = performance.now() - t0;
  const t1 = performance.now();
  await store.build(def);
  const cached = performance.now() - t1;
  rows.push(
    `| Dockerfile FROM debian-13 (COPY + RUN) | ${(cold / 1000).toFixed(1)} s | ${cached.toFixed(1)} ms | ${(info.sizeBytes / 1e6).toFixed(0)} MB | - | base import included in cold |`,
  );
  await rm(context, { recursive: true, force: true });
} finally {
  await removeTree(dir);
}
console.log(
  `# npm run bench:templates  ${new Date().toISOString()}  (${((Date.now() - started) / 1000).toFixed(0)} s)`,
);
console.log('| template | cold build | cached | rootfs | log lines | versions inside |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
