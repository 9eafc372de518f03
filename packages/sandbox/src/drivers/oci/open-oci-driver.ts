import { stat } from 'node:fs/promises';
import { HostPrerequisiteError } from '../../errors.ts';
import { findCriu } from '../../host/criu.ts';
import { NATIVE_BUILD_FIX, SUPERVISOR_BINARY } from '../../host/native-build.ts';
import { findRunc } from '../../host/runc.ts';
import { copySupervisor } from '../../host/supervisor-copy.ts';
import type { IdMap } from './bundle.ts';
import { OciDriver } from './oci-driver.ts';

export interface OciDriverOpenOptions {
  dataDir: string;
  idMap: IdMap;
  /** runc (default: `findRunc`, the private one with the escape fixes when setup installed it). */
  runc?: string | undefined;
  /** CRIU >= 4 (default: found by `findCriu`). */
  criu?: string | undefined;
  /** rt-init (default: the package's `native/build/rt-init`). */
  supervisorBinary?: string | undefined;
  /** Sync checkpoint images and the sandbox's disk before a pause returns (default true). */
  durablePause?: boolean | undefined;
  /** The size of the spare disks kept ready for new sandboxes. */
  spareDiskMiB: number;
}

/**
 * The default driver: runc and CRIU, with rt-init copied into the data dir (sandboxes must not
 * see the package's path). Finds what it needs on the host, or says what is missing.
 */
export async function openOciDriver(options: OciDriverOpenOptions): Promise<OciDriver> {
  const supervisorBinary = options.supervisorBinary ?? SUPERVISOR_BINARY;
  if (!(await stat(supervisorBinary).catch(() => null))) {
    throw new HostPrerequisiteError(
      `The sandbox supervisor binary is missing (${supervisorBinary})`,
      NATIVE_BUILD_FIX,
    );
  }
  return new OciDriver({
    dataDir: options.dataDir,
    runc: options.runc ?? findRunc(),
    supervisorBinary: await copySupervisor(options.dataDir, supervisorBinary),
    criu: options.criu ?? (await findCriu())?.path,
    idMap: options.idMap,
    durablePause: options.durablePause ?? true,
    spareDiskMiB: options.spareDiskMiB,
  });
}
