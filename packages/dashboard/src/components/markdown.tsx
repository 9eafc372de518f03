import { lazy, memo, Suspense } from 'react';

const loadRenderer = () => import('./markdown-renderer.tsx');
const MarkdownRenderer = lazy(loadRenderer);

/** Fetches the parser ahead of the first Markdown (a run view does on mount). */
export function preloadMarkdown(): void {
  void loadRenderer();
}

/**
 * An agent's Markdown, sanitised (see `markdown-renderer.tsx`). The parser is a chunk of its own,
 * fetched the first time a page shows Markdown; until it is there the text shows as it is.
 */
export const Markdown = memo(function Markdown({ text }: { text: string }) {
  return (
    <Suspense fallback={<p className="my-2 whitespace-pre-wrap break-words">{text}</p>}>
      <MarkdownRenderer text={text} />
    </Suspense>
  );
});
