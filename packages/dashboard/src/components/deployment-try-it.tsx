import { useMutation } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { type FormEvent, useId, useState } from 'react';
import { useClient } from '../session.tsx';
import { runPath } from './run-format.ts';
import { RunView } from './run-view.tsx';
import { Button, ErrorNotice } from './ui.tsx';

/**
 * "Try it": starts a run of the deployment with what is typed (as a string, like the `curl`
 * line's input) and streams it right here. Ctrl+Enter runs it from the text box.
 */
export function DeploymentTryIt({ apiSlug }: { apiSlug: string }) {
  const client = useClient();
  const inputId = useId();
  const [input, setInput] = useState('');
  const start = useMutation({
    mutationFn: (text: string) => client.run(apiSlug, text, { wait: false }),
  });
  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (input.trim() !== '' && !start.isPending) start.mutate(input);
  };
  return (
    <div className="space-y-3">
      <form onSubmit={submit} className="space-y-2">
        <label htmlFor={inputId} className="block text-sm font-medium">
          Input
        </label>
        <textarea
          id={inputId}
          rows={3}
          value={input}
          onChange={(e) => setInput(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) submit();
          }}
          placeholder="What should the agent do?"
          aria-describedby={`${inputId}-hint`}
          className="w-full rounded-md border border-zinc-300 bg-white px-3 py-2 font-mono text-sm dark:border-zinc-700 dark:bg-zinc-900"
        />
        <div className="flex items-center gap-3">
          <Button type="submit" variant="primary" disabled={input.trim() === '' || start.isPending}>
            {start.isPending ? 'Starting…' : 'Run'}
          </Button>
          <span id={`${inputId}-hint`} className="text-xs text-zinc-500 dark:text-zinc-400">
            Ctrl+Enter runs it too.
          </span>
        </div>
      </form>
      {start.isError ? <ErrorNotice error={start.error} /> : null}
      {start.data ? (
        <section
          aria-label={`Run ${start.data.runId}`}
          className="rounded-md border border-zinc-200 p-3 dark:border-zinc-800"
        >
          <p className="mb-3 text-sm">
            Run{' '}
            <Link
              to={runPath(start.data.runId)}
              className="font-mono text-sky-700 underline dark:text-sky-400"
            >
              {start.data.runId}
            </Link>
          </p>
          <RunView
            key={start.data.runId}
            runId={start.data.runId}
            initialStatus={start.data.status}
          />
        </section>
      ) : null}
    </div>
  );
}
