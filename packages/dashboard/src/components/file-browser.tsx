import type { DirectoryEntry } from '@runtools/sdk/api';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type ChangeEvent, type FormEvent, useEffect, useId, useState } from 'react';
import { useClient } from '../session.tsx';
import { FileViewer, fileUrl } from './file-viewer.tsx';
import { formatBytes } from './sandbox-format.ts';
import { Button, ErrorNotice, Loading } from './ui.tsx';

const childPath = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);
const parentPath = (dir: string) => dir.replace(/\/[^/]+\/?$/, '') || '/';

/** `/a/b` → `[/, /a, /a/b]` with their names, for the breadcrumb. */
function crumbs(dir: string): Array<{ name: string; path: string }> {
  const parts = dir.split('/').filter(Boolean);
  return [
    { name: '/', path: '/' },
    ...parts.map((name, i) => ({ name, path: `/${parts.slice(0, i + 1).join('/')}` })),
  ];
}

const byKindThenName = (a: DirectoryEntry, b: DirectoryEntry) =>
  Number(b.type === 'directory') - Number(a.type === 'directory') || a.name.localeCompare(b.name);

const link =
  'text-left font-mono text-sky-700 underline underline-offset-2 hover:text-sky-900 dark:text-sky-400 dark:hover:text-sky-300';

type Upload = { state: 'uploading' | 'done' | 'failed'; text: string } | null;

/**
 * A sandbox's files over `GET|PUT /v1/sandboxes/{id}/files`: a directory listing to walk, a
 * text viewer, uploads from the computer (streamed from the file, not read into the page) and
 * downloads as plain links (the session cookie authenticates them).
 */
export function FileBrowser({
  sandboxId,
  startPath,
  running,
}: {
  sandboxId: string;
  startPath: string;
  running: boolean;
}) {
  const client = useClient();
  const queries = useQueryClient();
  const [dir, setDir] = useState(startPath);
  const [draft, setDraft] = useState(startPath);
  const [viewing, setViewing] = useState<DirectoryEntry | null>(null);
  const [upload, setUpload] = useState<Upload>(null);
  const inputId = useId();

  useEffect(() => setDraft(dir), [dir]);

  const listing = useQuery({
    queryKey: ['sandboxes', 'files', sandboxId, dir],
    queryFn: () => client.sandboxes.files.list(sandboxId, dir),
    enabled: running,
    retry: false,
  });

  const open = (path: string) => {
    setViewing(null);
    setDir(path);
  };

  const go = (event: FormEvent) => {
    event.preventDefault();
    const path = draft.trim();
    if (path !== '') open(path.startsWith('/') ? path : childPath(dir, path));
  };

  const uploadFiles = async (event: ChangeEvent<HTMLInputElement>) => {
    const input = event.currentTarget;
    const files = [...(input.files ?? [])];
    const target = listing.data?.path ?? dir;
    for (const [i, file] of files.entries()) {
      const where = childPath(target, file.name);
      setUpload({
        state: 'uploading',
        text: `Uploading ${file.name}${files.length > 1 ? ` (${i + 1} of ${files.length})` : ''}…`,
      });
      try {
        const written = await client.sandboxes.files.write(sandboxId, where, file);
        setUpload({
          state: 'done',
          text: `Uploaded ${file.name} (${formatBytes(written.size)}) to ${written.path}.`,
        });
      } catch (error) {
        setUpload({
          state: 'failed',
          text: `${file.name} was not uploaded: ${(error as Error).message}`,
        });
        break;
      }
    }
    input.value = '';
    await queries.invalidateQueries({ queryKey: ['sandboxes', 'files', sandboxId] });
  };

  if (!running) {
    return (
      <section aria-label="Files">
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          The sandbox is not running: resume it to browse its files.
        </p>
      </section>
    );
  }

  const entries = [...(listing.data?.entries ?? [])].sort(byKindThenName);
  const shown = listing.data?.path ?? dir;
  return (
    <section aria-label="Files" className="space-y-3">
      <div className="flex flex-wrap items-end gap-3">
        <form onSubmit={go} className="flex flex-wrap items-end gap-2">
          <label className="flex flex-col gap-1 text-xs font-medium">
            Directory
            <input
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
              spellCheck={false}
              className="w-72 rounded-md border border-zinc-300 bg-white px-2 py-1.5 font-mono text-sm dark:border-zinc-700 dark:bg-zinc-900"
            />
          </label>
          <Button type="submit">Open</Button>
          <Button
            aria-label="Up to the parent directory"
            disabled={shown === '/'}
            onClick={() => open(parentPath(shown))}
          >
            Up
          </Button>
        </form>
        <div className="flex flex-col gap-1 text-xs font-medium">
          <label htmlFor={inputId}>Upload files to {shown}</label>
          <input
            id={inputId}
            type="file"
            multiple
            onChange={(e) => void uploadFiles(e)}
            disabled={upload?.state === 'uploading'}
            className="text-sm file:mr-2 file:rounded-md file:border file:border-zinc-300 file:bg-white file:px-2 file:py-1 dark:file:border-zinc-700 dark:file:bg-zinc-900 dark:file:text-zinc-100"
          />
        </div>
      </div>
      <p
        role="status"
        className={`text-sm empty:hidden ${upload?.state === 'failed' ? 'text-red-700 dark:text-red-400' : ''}`}
      >
        {upload?.text}
      </p>
      <nav aria-label="Path">
        <ol className="flex flex-wrap items-center gap-1 font-mono text-sm">
          {crumbs(shown).map((c, i, all) => (
            <li key={c.path} className="flex items-center gap-1">
              {i > 1 ? <span aria-hidden="true">/</span> : null}
              {i === all.length - 1 ? (
                <span aria-current="location">{c.name}</span>
              ) : (
                <button
                  type="button"
                  className={link}
                  onClick={() => open(c.path)}
                  aria-label={`Open ${c.path}`}
                >
                  {c.name}
                </button>
              )}
            </li>
          ))}
        </ol>
      </nav>
      <div className="grid gap-4 lg:grid-cols-2">
        <div className="min-w-0">
          {listing.isPending ? (
            <Loading what={dir} />
          ) : listing.isError ? (
            <ErrorNotice error={listing.error} />
          ) : entries.length === 0 ? (
            <p className="text-sm text-zinc-600 dark:text-zinc-400">
              {shown} is empty. Upload files into it above.
            </p>
          ) : (
            <div className="max-h-[60vh] overflow-auto rounded-lg border border-zinc-200 dark:border-zinc-800">
              <table className="w-full text-left text-sm">
                <caption className="sr-only">Contents of {shown}</caption>
                <thead className="sticky top-0 bg-zinc-50 text-xs text-zinc-600 dark:bg-zinc-900 dark:text-zinc-400">
                  <tr>
                    <th scope="col" className="px-3 py-1.5">
                      Name
                    </th>
                    <th scope="col" className="px-3 py-1.5 text-right">
                      Size
                    </th>
                    <th scope="col" className="px-3 py-1.5">
                      Modified
                    </th>
                    <th scope="col" className="px-3 py-1.5">
                      <span className="sr-only">Download</span>
                    </th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
                  {entries.map((entry) => (
                    <tr
                      key={entry.path}
                      className={viewing?.path === entry.path ? 'bg-sky-50 dark:bg-sky-950' : ''}
                    >
                      <th scope="row" className="px-3 py-1.5 font-normal">
                        {entry.type === 'directory' ? (
                          <button
                            type="button"
                            className={link}
                            onClick={() => open(entry.path)}
                            aria-label={`Open directory ${entry.name}`}
                          >
                            {entry.name}/
                          </button>
                        ) : entry.type === 'other' ? (
                          <span className="font-mono">{entry.name}</span>
                        ) : (
                          <button
                            type="button"
                            className={link}
                            onClick={() => {
                              if (entry.type === 'file') return setViewing(entry);
                              // A symlink may lead to a directory: walk into it if so.
                              client.sandboxes.files.list(sandboxId, entry.path).then(
                                (target) => open(target.path),
                                () => setViewing(entry),
                              );
                            }}
                            aria-label={`View ${entry.name}`}
                          >
                            {entry.name}
                            {entry.type === 'symlink' ? ' →' : ''}
                          </button>
                        )}
                      </th>
                      <td className="px-3 py-1.5 text-right tabular-nums">
                        {entry.type === 'directory' ? '—' : formatBytes(entry.size)}
                      </td>
                      <td className="px-3 py-1.5 text-zinc-600 dark:text-zinc-400">
                        <time dateTime={entry.modifiedAt} title={entry.modifiedAt}>
                          {new Date(entry.modifiedAt).toLocaleString()}
                        </time>
                      </td>
                      <td className="px-3 py-1.5">
                        {entry.type === 'file' || entry.type === 'symlink' ? (
                          <a
                            href={fileUrl(sandboxId, entry.path)}
                            download={entry.name}
                            aria-label={`Download ${entry.name}`}
                            className={link}
                          >
                            Download
                          </a>
                        ) : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
        {viewing ? (
          <FileViewer sandboxId={sandboxId} entry={viewing} onClose={() => setViewing(null)} />
        ) : null}
      </div>
    </section>
  );
}
