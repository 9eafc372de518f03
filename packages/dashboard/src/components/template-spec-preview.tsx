import type { TemplateSpecInput } from '@runtools/sdk/api';
import { useId, useRef, useState } from 'react';
import { CopyButton } from './key-copy.tsx';
import { sdkSnippet } from './template-spec-draft.ts';

/**
 * What the builder will submit, as the JSON body of `POST /v1/templates` and as the same call with
 * the SDK: the page does nothing a script could not.
 */
export function TemplateSpecPreview({ spec }: { spec: TemplateSpecInput }) {
  const [tab, setTab] = useState<'json' | 'sdk'>('json');
  const id = useId();
  const code = useRef<HTMLPreElement>(null);
  const json = JSON.stringify(spec, null, 2);
  const snippet = sdkSnippet(spec, window.location.origin);
  const text = tab === 'json' ? json : snippet;
  const tabs = [
    { key: 'json' as const, label: 'Spec (JSON)' },
    { key: 'sdk' as const, label: 'SDK snippet' },
  ];

  return (
    <div>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <div role="tablist" aria-label="The spec to submit" className="flex gap-1">
          {tabs.map((t, i) => (
            <button
              key={t.key}
              type="button"
              role="tab"
              id={`${id}-${t.key}`}
              aria-selected={tab === t.key}
              aria-controls={`${id}-panel`}
              tabIndex={tab === t.key ? 0 : -1}
              onClick={() => setTab(t.key)}
              onKeyDown={(e) => {
                if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
                const next =
                  tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
                if (next === undefined) return;
                setTab(next.key);
                document.getElementById(`${id}-${next.key}`)?.focus();
              }}
              className="rounded-t-md border-b-2 px-3 py-1.5 text-sm aria-selected:border-sky-600 aria-selected:font-medium aria-[selected=false]:border-transparent"
            >
              {t.label}
            </button>
          ))}
        </div>
        <CopyButton
          text={text}
          label={tab === 'json' ? 'Copy the spec JSON' : 'Copy the SDK snippet'}
          selectTarget={code}
        />
      </div>
      <pre
        ref={code}
        id={`${id}-panel`}
        role="tabpanel"
        aria-labelledby={`${id}-${tab}`}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable code block is reachable by keyboard
        tabIndex={0}
        className="mt-2 max-h-[32rem] overflow-auto rounded-md bg-zinc-100 p-3 font-mono text-xs leading-5 dark:bg-zinc-900"
      >
        {text}
      </pre>
    </div>
  );
}
