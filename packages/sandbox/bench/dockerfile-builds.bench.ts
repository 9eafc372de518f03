/**
 * Dockerfile build phases: `node packages/sandbox/bench/dockerfile-builds.bench.ts` (as root,
 * after `bash scripts/setup.sh`). Builds debian-13, then three Dockerfile templates FROM it
 * (COPY + RUN) into one fresh buildah root, printing each build's time and, on stderr, the time
 * between the build log's phase lines (base import, each STEP, commit, export, uid shift). Run it
 * at two commits, interleaved, to compare build code: single builds vary with the disk.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeTree } from '../src/host/remove-tree.ts';
import { TemplateStore } from '../src/templates/template-store.ts';

const dir = await mkdtemp('/var/tmp/rt-bench-dockerfile-');
try {
  const store = new TemplateStore({ dir, idBase: 100_000 });
  await store.get('debian-13');
  const context = await mkdtemp(join(dir, 'ctx-'));
  await writeFile(join(context, 'app.txt'), 'app\n');
  const phase = /^(==>|STEP|COMMIT|Getting|Writing)/;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    let last = t0;
    await store.build(
      {
        kind: 'dockerfile',
        slug: `bench-dockerfile-${i}`,
        dockerfile: `FROM debian-13\nCOPY app.txt /srv/app.txt\nRUN echo built${i} > /etc/built\nWORKDIR /srv`,
        contextDir: context,
      },
      {
        onLog: (line) => {
          if (!phase.test(line)) return;
          const now = performance.now();
          console.error(`+${(now - last).toFixed(0).padStart(6)} ms  ${line.slice(0, 100)}`);
          last = now;
        },
      },
    );
    console.log(`build ${i}: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  }
} finally {
  await removeTree(dir);
}
