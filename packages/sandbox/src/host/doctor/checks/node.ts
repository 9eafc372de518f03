import { majorVersion } from '../../criu.ts';
import { MIN_NODE_MAJOR, type PrerequisiteCheck } from '../prerequisite-check.ts';
import { run } from '../probe.ts';

export async function checkNode(): Promise<PrerequisiteCheck> {
  const result = await run(process.execPath, ['--version']);
  const version = result.stdout.trim().replace(/^v/, '') || process.versions.node;
  const works = majorVersion(version) >= MIN_NODE_MAJOR;
  return {
    name: 'node',
    found: true,
    version,
    works,
    detail: works
      ? process.execPath
      : `${process.execPath} is Node ${version}; RunTools needs >= ${MIN_NODE_MAJOR}`,
    ...(works
      ? {}
      : {
          fix: 'npm ci (installs node@24 into node_modules), then run it through npm: npm run doctor',
        }),
  };
}
