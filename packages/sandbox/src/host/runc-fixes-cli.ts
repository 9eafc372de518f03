/**
 * `node packages/sandbox/src/host/runc-fixes-cli.ts BINARY [CHANGELOG]`: prints the known
 * container-escape CVEs that runc BINARY lacks, one per line (nothing when it has them all), for
 * `scripts/setup.sh`, which keeps no copy of the list. Exit 2 when BINARY cannot be asked.
 */
import { changelogFor, inspectRunc } from './runc.ts';

const [binary, changelog] = process.argv.slice(2);
if (!binary) {
  process.stderr.write('usage: runc-fixes-cli.ts BINARY [CHANGELOG]\n');
  process.exit(2);
}
try {
  const info = await inspectRunc(binary, changelog ?? changelogFor(binary));
  for (const fix of info.missing) process.stdout.write(`${fix.cve}\n`);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 2;
}
