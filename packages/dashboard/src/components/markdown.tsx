import { lazy, memo, Suspense } from 'react';

const MarkdownRenderer = lazy(() => import('./markdown-renderer.tsx'));

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
