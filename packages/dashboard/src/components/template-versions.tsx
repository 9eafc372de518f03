import type { Template, TemplateBuild } from '@runtools/sdk/api';
import { tableClass, tdClass, thClass } from './key-fields.tsx';
import { EmptyState, Time } from './ui.tsx';

function size(bytes: number | null): string {
  if (bytes === null) return '—';
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(0)} MB`;
}

function seconds(ms: number | null): string {
  return ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`;
}

function versionsText(versions: Record<string, string> | null): string {
  if (versions === null) return '—';
  const entries = Object.entries(versions);
  return entries.length === 0 ? '—' : entries.map(([k, v]) => `${k} ${v}`).join(', ');
}

interface VersionRow {
  version: string;
  createdAt: string;
  sizeBytes: number | null;
  buildMs: number | null;
  runtimeVersions: Record<string, string> | null;
}

/**
 * The versions of a template (each a content hash of what was built): from its ready builds, and
 * for a system template the one this server built. Which is current, which is on this server, in
 * words.
 */
export function TemplateVersions({
  template,
  builds,
}: {
  template: Template;
  builds: TemplateBuild[];
}) {
  const rows = new Map<string, VersionRow>();
  for (const b of builds) {
    if (b.status !== 'ready' || b.version === null || rows.has(b.version)) continue;
    rows.set(b.version, { ...b, version: b.version, createdAt: b.finishedAt ?? b.createdAt });
  }
  const local = template.local;
  if (local !== null && !rows.has(local.version)) rows.set(local.version, local);
  if (rows.size === 0) {
    return (
      <EmptyState title="No version built yet">
        {template.kind === 'system'
          ? 'This server builds a system template the first time a sandbox uses it.'
          : 'A version appears here when a build of the template is ready.'}
      </EmptyState>
    );
  }
  return (
    <div className="overflow-x-auto">
      <table className={tableClass}>
        <caption className="sr-only">Versions, newest first</caption>
        <thead>
          <tr>
            <th className={thClass}>Version</th>
            <th className={thClass}>State</th>
            <th className={thClass}>Built</th>
            <th className={thClass}>Size</th>
            <th className={thClass}>Build time</th>
            <th className={thClass}>Contents</th>
          </tr>
        </thead>
        <tbody>
          {[...rows.values()].map((v) => {
            const states = [
              v.version === template.version ? 'current' : 'previous',
              local?.version === v.version ? 'on this server' : null,
            ].filter(Boolean);
            return (
              <tr key={v.version}>
                <td className={`${tdClass} font-mono`}>{v.version}</td>
                <td className={tdClass}>{states.join(', ')}</td>
                <td className={tdClass}>
                  <Time iso={v.createdAt} />
                </td>
                <td className={tdClass}>{size(v.sizeBytes)}</td>
                <td className={tdClass}>{seconds(v.buildMs)}</td>
                <td className={tdClass}>{versionsText(v.runtimeVersions)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** How long a build took or has taken so far. */
export function buildDuration(build: TemplateBuild): string {
  if (build.startedAt === null) return '—';
  const end = build.finishedAt ? Date.parse(build.finishedAt) : Date.now();
  return seconds(end - Date.parse(build.startedAt));
}
