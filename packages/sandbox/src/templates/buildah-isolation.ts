import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../host/run-command.ts';
import { findRunc } from '../host/runc.ts';
import type { BuildNetwork } from './build-network.ts';
import { sh } from './os-base.ts';

/** The sandbox uid range: uid 0..65535 inside is idBase..idBase+65535 on the host. */
const ID_RANGE = 65536;
/** An empty directory that stands in for /sys (and /sys/fs/cgroup) in RUN steps. */
const EMPTY_SYS = '/run/runtools-build/empty-sys';

export interface BuildahIsolation extends AsyncDisposable {
  /** Flags for `buildah bud`. */
  args: string[];
}

/**
 * The `buildah bud` flags that make every RUN step run as a sandbox runs: buildah's OCI isolation
 * with our runc (not `chroot`, which is host root in the host's namespaces), a user namespace
 * mapping the step's root to the sandboxes' host uid `idBase`, private pid, ipc, uts and cgroup
 * namespaces, and the build's egress network. buildah mounts a fresh sysfs when the step has its
 * own network namespace, which only that namespace's owner may do; ours belongs to the host, so
 * /sys is an empty read-only directory instead (as in an egress sandbox).
 *
 * The image layers stay owned by 0..; vfs storage copies a base with the owners shifted for the
 * step's container (once per base and mapping: it keeps the shifted copy) and shifts them back
 * when it commits. buildah runs runc through a small wrapper (`OWN_ROOT`), which keeps its state of
 * the steps' containers in a directory of this build's own: disposing kills whatever a killed
 * buildah left running there.
 */
export async function buildahIsolation(
  network: BuildNetwork,
  idBase: number,
): Promise<BuildahIsolation> {
  await mkdir(join(EMPTY_SYS, 'fs/cgroup'), { recursive: true, mode: 0o755 });
  const runc = findRunc();
  const dir = await mkdtemp('/run/runtools-build/buildah-');
  const state = join(dir, 'runc');
  const runtime = join(dir, 'runtime');
  await writeFile(join(dir, 'own-root.mjs'), OWN_ROOT);
  await writeFile(
    runtime,
    [
      '#!/bin/sh',
      'for a in "$@"; do',
      `  if [ "$a" = create ]; then ${sh(process.execPath)} ${sh(join(dir, 'own-root.mjs'))} "$@" || exit 1; break; fi`,
      'done',
      `exec ${sh(runc)} "$@"`,
      '',
    ].join('\n'),
    { mode: 0o700 },
  );
  const map = `0:${idBase}:${ID_RANGE}`;
  const args = [
    '--isolation',
    'oci',
    '--runtime',
    runtime,
    '--runtime-flag',
    `root=${state}`,
    '--userns-uid-map',
    map,
    '--userns-gid-map',
    map,
    '--pid',
    'private',
    '--ipc',
    'private',
    '--uts',
    'private',
    '--cgroupns',
    'private',
    '--network',
    `ns:${network.netnsPath}`,
    // Explicit volumes take the place of buildah's own mounts at the same destination.
    '--volume',
    `${EMPTY_SYS}:/sys:ro`,
    '--volume',
    `${join(EMPTY_SYS, 'fs/cgroup')}:/sys/fs/cgroup:ro`,
    // The resolvers the network lets through (a volume at /etc/resolv.conf would bring back
    // buildah's sysfs mount: buildah 1.28 then drops the /sys volume).
    ...network.nameservers.flatMap((ip) => ['--dns', ip]),
  ];
  let disposed = false;
  return {
    args,
    async [Symbol.asyncDispose]() {
      if (disposed) return;
      disposed = true;
      const list = await runCommand(runc, ['--root', state, 'list', '--quiet']);
      for (const id of list.stdout.split('\n').filter(Boolean)) {
        await runCommand(runc, ['--root', state, 'delete', '--force', id]);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Run by the runtime wrapper before `runc create`: gives the step's root directory to the step's
 * root. vfs makes a container layer's top directory with its parent's raw owner (0, unmapped),
 * so in a user namespace `/` would belong to nobody and a RUN could not create `/hello`. Only the
 * working container's own copy changes; the commit maps owners back.
 */
const OWN_ROOT = `
import { lchownSync, readFileSync } from 'node:fs';
const args = process.argv.slice(2);
const at = args.indexOf('--bundle');
const bundle = at >= 0 ? args[at + 1] : process.cwd();
const config = JSON.parse(readFileSync(bundle + '/config.json', 'utf8'));
const host = (maps) => (maps ?? []).find((m) => m.containerID === 0)?.hostID;
const uid = host(config.linux?.uidMappings);
const gid = host(config.linux?.gidMappings);
if (config.root?.path && uid !== undefined && gid !== undefined) lchownSync(config.root.path, uid, gid);
`;

/**
 * runc (>= 1.2) warns on every RUN step that it cannot raise the ambient capabilities buildah
 * asks for; the step runs all the same. Such lines are not the step's output.
 */
export function isRuntimeNoise(line: string): boolean {
  return /level=warning msg="can't raise ambient capability/.test(line);
}
