import { useState } from 'react';
import { Button } from './ui.tsx';

/** Where a deployment is served, from this page's own origin. */
export function deploymentUrls(apiSlug: string, origin = window.location.origin) {
  const path = `/v1/run/${encodeURIComponent(apiSlug)}`;
  return {
    http: `${origin}${path}`,
    ws: `${origin.replace(/^http/, 'ws')}${path}/stream`,
  };
}

/** A one-line `curl` that runs the deployment with the key in `$RUNTOOLS_API_KEY`. */
export function curlLine(apiSlug: string, origin = window.location.origin): string {
  return (
    `curl -X POST ${deploymentUrls(apiSlug, origin).http} ` +
    `-H "Authorization: Bearer $RUNTOOLS_API_KEY" -H "content-type: application/json" ` +
    `-d '{"input":"Hello"}'`
  );
}

/** Copies `text`; says it did (in words, for everyone) or that it could not. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      setState('failed');
    }
    setTimeout(() => setState('idle'), 2000);
  };
  return (
    <span className="flex shrink-0 items-center gap-1">
      <Button onClick={() => void copy()} aria-label={label} className="text-xs">
        Copy
      </Button>
      <span aria-live="polite" className="w-14 text-xs text-zinc-600 dark:text-zinc-400">
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Not copied' : ''}
      </span>
    </span>
  );
}

/** A line of code to read and copy. */
export function CodeLine({ code, copyLabel }: { code: string; copyLabel: string }) {
  return (
    <div className="flex items-start gap-2">
      <code className="block min-w-0 flex-1 overflow-x-auto whitespace-pre rounded bg-zinc-100 px-2 py-1.5 font-mono text-xs dark:bg-zinc-900">
        {code}
      </code>
      <CopyButton text={code} label={copyLabel} />
    </div>
  );
}

/** The HTTP and WebSocket endpoints of a deployment and the `curl` line that runs it. */
export function DeploymentEndpoints({ apiSlug }: { apiSlug: string }) {
  const urls = deploymentUrls(apiSlug);
  return (
    <dl className="space-y-2 text-sm">
      <div>
        <dt className="text-xs font-medium text-zinc-600 dark:text-zinc-400">HTTP</dt>
        <dd>
          <CodeLine code={`POST ${urls.http}`} copyLabel={`Copy the HTTP endpoint of ${apiSlug}`} />
        </dd>
      </div>
      <div>
        <dt className="text-xs font-medium text-zinc-600 dark:text-zinc-400">
          WebSocket (streams the run's events)
        </dt>
        <dd>
          <CodeLine code={urls.ws} copyLabel={`Copy the WebSocket URL of ${apiSlug}`} />
        </dd>
      </div>
      <div>
        <dt className="text-xs font-medium text-zinc-600 dark:text-zinc-400">curl</dt>
        <dd>
          <CodeLine code={curlLine(apiSlug)} copyLabel={`Copy the curl line of ${apiSlug}`} />
        </dd>
      </div>
    </dl>
  );
}
