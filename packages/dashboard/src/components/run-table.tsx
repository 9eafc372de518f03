import type { Run } from '@runtools/sdk/api';
import { Link } from '@tanstack/react-router';
import { useEffect } from 'react';
import { formatCount, runDuration, runPath } from './run-format.ts';
import { StatusBadge, Time } from './ui.tsx';

/** The mark the runs benchmark reads: the first rows of the list are in the document. */
export const runsFirstRowsMark = 'runs-first-rows';

const cell = 'px-3 py-2 whitespace-nowrap';
const numeric = `${cell} text-right tabular-nums`;

/** A page of runs: id, status (a word), deployment, when, how long, steps and tokens. */
export function RunTable({
  runs,
  deploymentSlugs,
  busy,
}: {
  runs: readonly Run[];
  /** Deployment ids to their apiSlugs, for the deployment column. */
  deploymentSlugs: ReadonlyMap<string, string>;
  busy: boolean;
}) {
  useEffect(() => {
    if (runs.length > 0 && performance.getEntriesByName(runsFirstRowsMark).length === 0) {
      performance.mark(runsFirstRowsMark);
    }
  }, [runs.length]);
  return (
    <div className="overflow-x-auto rounded-lg border border-zinc-200 dark:border-zinc-800">
      <table aria-label="Runs" aria-busy={busy} className="w-full text-sm">
        <thead className="bg-zinc-50 text-left text-xs text-zinc-600 dark:bg-zinc-900 dark:text-zinc-400">
          <tr>
            <th scope="col" className={cell}>
              Run
            </th>
            <th scope="col" className={cell}>
              Status
            </th>
            <th scope="col" className={cell}>
              Deployment
            </th>
            <th scope="col" className={cell}>
              Created
            </th>
            <th scope="col" className={`${cell} text-right`}>
              Duration
            </th>
            <th scope="col" className={`${cell} text-right`}>
              Steps
            </th>
            <th scope="col" className={`${cell} text-right`}>
              Tokens
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">
          {runs.map((run, i) => (
            <tr key={run.id} className="hover:bg-zinc-50 dark:hover:bg-zinc-900">
              {/* Element Timing reports a block's text, so the cell (not its link) carries it. */}
              <td className={cell} {...(i === 0 ? { elementtiming: runsFirstRowsMark } : {})}>
                <Link
                  to={runPath(run.id)}
                  className="font-mono text-sky-700 underline dark:text-sky-400"
                >
                  {run.id}
                </Link>
              </td>
              <td className={cell}>
                <StatusBadge status={run.status} />
                {run.error ? (
                  <code className="ml-2 font-mono text-xs text-red-700 dark:text-red-400">
                    {run.error.code}
                  </code>
                ) : null}
              </td>
              <td className={`${cell} font-mono`}>
                {deploymentSlugs.get(run.deploymentId) ?? run.deploymentId}
              </td>
              <td className={cell}>
                <Time iso={run.createdAt} />
              </td>
              <td className={numeric}>{runDuration(run)}</td>
              <td className={numeric}>{formatCount(run.steps)}</td>
              <td className={numeric}>{formatCount(run.usage.totalTokens)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
