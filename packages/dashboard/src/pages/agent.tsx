import type { ProjectAgent } from '@runtools/sdk/api';
import { RunToolsApiError } from '@runtools/sdk/client';
import { useQuery } from '@tanstack/react-query';
import { useParams } from '@tanstack/react-router';
import { lazy, Suspense, useEffect, useState } from 'react';
import { AgentFieldsForm } from '../components/agent-fields-form.tsx';
import { CodeEditor } from '../components/code-editor.tsx';
import { Button, ErrorNotice, Loading, PageHeader } from '../components/ui.tsx';

import { useClient } from '../session.tsx';

// The workflow graph and its editor load with an agent that has a workflow.
const AgentWorkflow = lazy(() =>
  import('../components/agent-workflow.tsx').then((m) => ({ default: m.AgentWorkflow })),
);

/** A unified diff, its added and removed lines coloured. */
function Diff({ diff }: { diff: string }) {
  return (
    <pre
      data-testid="diff"
      className="overflow-x-auto rounded border border-zinc-300 p-2 text-xs dark:border-zinc-700"
    >
      {diff.split('\n').map((line, i) => (
        <div
          // biome-ignore lint/suspicious/noArrayIndexKey: the lines of one diff, in order
          key={i}
          className={
            line.startsWith('+') && !line.startsWith('+++')
              ? 'bg-green-100 dark:bg-green-950'
              : line.startsWith('-') && !line.startsWith('---')
                ? 'bg-red-100 dark:bg-red-950'
                : ''
          }
        >
          {line || ' '}
        </div>
      ))}
    </pre>
  );
}

interface Conflict {
  message: string;
  current: string;
}

/**
 * One agent file in the builder: the form (or, read-only, the fields with their source), a diff
 * before each save, the file's code, and the file as it changes on disk (SSE).
 */
export function AgentPage() {
  const { slug } = useParams({ strict: false }) as { slug: string };
  const client = useClient();
  const list = useQuery({
    queryKey: ['project-agents'],
    queryFn: () => client.projectAgents.list(),
  });
  const templates = useQuery({
    queryKey: ['templates'],
    queryFn: () => client.templates.list({ limit: 100 }),
  });
  const [agent, setAgent] = useState<ProjectAgent | null>(null);
  const [draft, setDraft] = useState<Record<string, unknown>>({});
  const [baseHash, setBaseHash] = useState<string | null>(null);
  const [tab, setTab] = useState<'form' | 'workflow' | 'code'>('form');
  const [diff, setDiff] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [outside, setOutside] = useState(false);
  const [saved, setSaved] = useState(false);
  const dirty = Object.keys(draft).length > 0;

  useEffect(() => {
    const abort = new AbortController();
    void (async () => {
      try {
        for await (const event of client.projectAgents.events(slug, { signal: abort.signal })) {
          if (event.agent === null) continue;
          const next = event.agent;
          setAgent(next);
          setBaseHash((base) => (base === null ? next.hash : base));
          if (event.origin === 'disk') setOutside(true);
        }
      } catch (e) {
        if (!abort.signal.aborted) setError(e);
      }
    })();
    return () => abort.abort();
  }, [client, slug]);

  // Without unsaved edits the form follows the file.
  useEffect(() => {
    if (!dirty && agent) setBaseHash(agent.hash);
  }, [agent, dirty]);

  if (agent === null) return error ? <ErrorNotice error={error} /> : <Loading what="the agent" />;
  const current = (name: string) =>
    Object.hasOwn(draft, name) ? draft[name] : agent.fields.findLast((f) => f.name === name)?.value;
  const set = (name: string, value: unknown) => {
    setDraft((d) => ({ ...d, [name]: value }));
    setDiff(null);
    setSaved(false);
  };
  const edit = () => ({ baseHash: baseHash ?? agent.hash, set: draft });
  const workflow = current('workflow');
  const workflowField = agent.fields.findLast((f) => f.name === 'workflow');
  const fail = (e: unknown) => {
    if (RunToolsApiError.isInstance(e) && e.code === 'agent_file_conflict') {
      const details = e.details as { current?: { source?: string } };
      setConflict({ message: e.message, current: details.current?.source ?? '' });
    } else setError(e);
  };
  const review = async () => {
    setError(null);
    try {
      setDiff((await client.projectAgents.preview(slug, edit())).diff);
    } catch (e) {
      fail(e);
    }
  };
  const save = async () => {
    setError(null);
    try {
      const written = await client.projectAgents.update(slug, edit());
      setAgent(written);
      setDraft({});
      setDiff(null);
      setBaseHash(written.hash);
      setOutside(false);
      setSaved(true);
    } catch (e) {
      fail(e);
    }
  };
  const discard = () => {
    setDraft({});
    setDiff(null);
    setConflict(null);
    setOutside(false);
    setBaseHash(agent.hash);
  };

  return (
    <>
      <PageHeader title={`Agent ${agent.slug}`} />
      <p className="mb-3 text-sm text-zinc-500">
        <code>{agent.file}</code>
        {agent.editable
          ? ' — the form writes this file; the file stays the source of truth.'
          : ` — read-only: ${agent.reason}`}
      </p>
      {agent.parseError ? (
        <p role="alert" className="mb-3 text-sm text-red-700">
          The file does not parse (line {agent.parseError.line}, column {agent.parseError.column}):{' '}
          {agent.parseError.message}
        </p>
      ) : null}
      {outside && dirty ? (
        <p role="status" className="mb-3 rounded bg-amber-100 p-2 text-sm dark:bg-amber-950">
          The file changed on disk. Saving merges your edits unless the same fields changed.
        </p>
      ) : null}
      {conflict ? (
        <div
          role="alert"
          aria-label="Conflict"
          className="mb-3 space-y-2 rounded border border-red-400 p-3 text-sm"
        >
          <p className="font-medium">Not saved: {conflict.message}</p>
          <p>The file on disk now:</p>
          <pre className="max-h-64 overflow-auto rounded bg-zinc-100 p-2 text-xs dark:bg-zinc-800">
            {conflict.current}
          </pre>
          <Button onClick={discard}>Discard my edits and reload</Button>
        </div>
      ) : null}
      {saved ? (
        <p role="status" className="mb-3 text-sm text-green-700">
          Saved to {agent.file}.
        </p>
      ) : null}
      <div role="tablist" className="mb-4 flex gap-2">
        <Button role="tab" aria-selected={tab === 'form'} onClick={() => setTab('form')}>
          Form
        </Button>
        {workflow ? (
          <Button role="tab" aria-selected={tab === 'workflow'} onClick={() => setTab('workflow')}>
            Workflow
          </Button>
        ) : null}
        <Button role="tab" aria-selected={tab === 'code'} onClick={() => setTab('code')}>
          View code
        </Button>
      </div>
      {tab === 'code' ? (
        <CodeEditor label="Agent file" language="typescript" readOnly value={agent.source ?? ''} />
      ) : null}
      {tab === 'workflow' && workflow ? (
        <Suspense fallback={<Loading what="the workflow" />}>
          <AgentWorkflow
            value={workflow}
            editable={agent.editable && workflowField?.editable === true}
            reason={agent.editable ? workflowField?.reason : undefined}
            set={(w) => set('workflow', w)}
          />
        </Suspense>
      ) : null}
      {tab !== 'code' ? (
        <div className="space-y-4">
          {tab === 'form' ? (
            <AgentFieldsForm
              fields={
                agent.editable
                  ? agent.fields
                  : agent.fields.map((f) => ({
                      ...f,
                      editable: false,
                      reason: f.reason ?? agent.reason,
                    }))
              }
              value={current}
              set={set}
              tools={list.data?.tools ?? { core: [], installed: [] }}
              templates={(templates.data?.data ?? []).map((t) => t.slug)}
            />
          ) : null}
          {agent.editable ? (
            <div className="flex gap-2">
              <Button disabled={!dirty} onClick={() => void review()}>
                Review changes
              </Button>
              <Button
                variant="primary"
                disabled={!dirty || diff === null}
                onClick={() => void save()}
              >
                Save to file
              </Button>
              <Button disabled={!dirty} onClick={discard}>
                Discard
              </Button>
            </div>
          ) : null}
          {diff !== null ? <Diff diff={diff || '(no change)'} /> : null}
          {error ? <ErrorNotice error={error} /> : null}
        </div>
      ) : null}
    </>
  );
}
