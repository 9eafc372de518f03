import { useEffect, useId, useRef, useState } from 'react';
import { Button } from './ui.tsx';

/**
 * Copies `text` to the clipboard and says so in words ("Copied"). Where the clipboard is refused
 * (a page not served over https or loopback), it selects `selectTarget` and asks for Ctrl+C.
 */
export function CopyButton({
  text,
  label,
  selectTarget,
}: {
  text: string;
  /** The accessible name, e.g. "Copy the API key". */
  label: string;
  selectTarget?: React.RefObject<HTMLInputElement | HTMLElement | null>;
}) {
  const [state, setState] = useState<'idle' | 'copied' | 'manual'>('idle');
  useEffect(() => {
    if (state !== 'copied') return;
    const timer = setTimeout(() => setState('idle'), 2500);
    return () => clearTimeout(timer);
  }, [state]);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      const target = selectTarget?.current;
      if (target instanceof HTMLInputElement) target.select();
      else if (target) window.getSelection()?.selectAllChildren(target);
      setState('manual');
    }
  };

  return (
    <span className="inline-flex items-center gap-2">
      <Button aria-label={label} onClick={() => void copy()}>
        Copy
      </Button>
      <span role="status" className="text-xs text-zinc-600 dark:text-zinc-400">
        {state === 'copied' ? 'Copied' : state === 'manual' ? 'Selected: press Ctrl+C to copy' : ''}
      </span>
    </span>
  );
}

/**
 * A secret the API returns only once (a new API key, a webhook's signing secret): shown with a
 * copy button until the reader says they have kept it.
 */
export function OnceSecret({
  title,
  label,
  secret,
  children,
  onDone,
}: {
  title: string;
  /** The accessible name of the field that holds the secret, e.g. "New API key". */
  label: string;
  secret: string;
  children?: React.ReactNode;
  onDone: () => void;
}) {
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  // Keyboard and screen reader users land on what just appeared.
  useEffect(() => heading.current?.focus(), []);
  return (
    <section
      aria-labelledby={id}
      className="mb-6 rounded-lg border border-amber-300 bg-amber-50 p-4 dark:border-amber-700 dark:bg-amber-950"
    >
      <h2 id={id} ref={heading} tabIndex={-1} className="text-lg font-medium">
        {title}
      </h2>
      <p className="mt-1 text-sm">
        <strong>Shown only once.</strong> Copy it now and keep it somewhere safe: it cannot be shown
        again.
      </p>
      {children}
      <div className="mt-3 flex flex-wrap items-center gap-2">
        <input
          ref={input}
          readOnly
          aria-label={label}
          value={secret}
          onFocus={(e) => e.currentTarget.select()}
          className="min-w-0 flex-1 rounded-md border border-zinc-300 bg-white px-3 py-1.5 font-mono text-sm dark:border-zinc-700 dark:bg-zinc-900"
        />
        <CopyButton text={secret} label={`Copy the ${label.toLowerCase()}`} selectTarget={input} />
        <Button onClick={onDone}>Done</Button>
      </div>
    </section>
  );
}
