import type { DirectoryEntry } from '@runtools/sdk/api';
import { useQuery } from '@tanstack/react-query';
import { useClient } from '../session.tsx';
import { formatBytes } from './sandbox-format.ts';
import { Button, ErrorNotice, Loading } from './ui.tsx';

/** Larger files are offered for download only: a page holding megabytes of text is no use. */
const viewLimit = 1024 * 1024;

/** Text, or why it is not shown: a NUL byte in the first 8 KiB is what git calls binary. */
function asText(bytes: Uint8Array): string | null {
  if (bytes.subarray(0, 8192).includes(0)) return null;
  return new TextDecoder('utf-8').decode(bytes);
}

export function fileUrl(sandboxId: string, path: string): string {
  return `/v1/sandboxes/${encodeURIComponent(sandboxId)}/files?path=${encodeURIComponent(path)}`;
}

/** Shows one file of a sandbox as text (read-only), or says why it cannot. */
export function FileViewer({
  sandboxId,
  entry,
  onClose,
}: {
  sandboxId: string;
  entry: DirectoryEntry;
  onClose: () => void;
}) {
  const client = useClient();
  const tooLarge = entry.size > viewLimit;
  const content = useQuery({
    queryKey: ['sandboxes', 'file', sandboxId, entry.path, entry.modifiedAt],
    queryFn: async () => asText(await client.sandboxes.files.read(sandboxId, entry.path)),
    enabled: !tooLarge,
    retry: false,
  });

  return (
    <section
      aria-label={`File ${entry.path}`}
      className="flex min-w-0 flex-col rounded-lg border border-zinc-200 dark:border-zinc-800"
    >
      <header className="flex flex-wrap items-center justify-between gap-2 border-b border-zinc-200 px-3 py-2 dark:border-zinc-800">
        <h3 className="min-w-0 truncate font-mono text-sm" title={entry.path}>
          {entry.path}
        </h3>
        <div className="flex items-center gap-2 text-xs">
          <span className="text-zinc-600 dark:text-zinc-400">{formatBytes(entry.size)}</span>
          <a
            href={fileUrl(sandboxId, entry.path)}
            download={entry.name}
            className="rounded-md border border-zinc-300 px-2 py-1 font-medium hover:bg-zinc-50 dark:border-zinc-700 dark:hover:bg-zinc-800"
          >
            Download
          </a>
          <Button aria-label={`Close ${entry.name}`} onClick={onClose}>
            Close
          </Button>
        </div>
      </header>
      <div className="p-3">
        {tooLarge ? (
          <p className="text-sm">
            This file is {formatBytes(entry.size)}: too large to show here. Download it instead.
          </p>
        ) : content.isPending ? (
          <Loading what={entry.name} />
        ) : content.isError ? (
          <ErrorNotice error={content.error} />
        ) : content.data === null ? (
          <p className="text-sm">This is a binary file: download it to open it.</p>
        ) : (
          <section
            // biome-ignore lint/a11y/noNoninteractiveTabindex: it scrolls; the keyboard must reach it
            tabIndex={0}
            aria-label={`Contents of ${entry.path}`}
            className="max-h-[60vh] overflow-auto rounded bg-zinc-50 p-3 dark:bg-zinc-900"
          >
            <pre className="font-mono text-xs whitespace-pre">{content.data}</pre>
          </section>
        )}
      </div>
    </section>
  );
}
