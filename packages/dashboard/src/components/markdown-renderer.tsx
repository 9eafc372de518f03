import { memo } from 'react';
import ReactMarkdown, { type Components } from 'react-markdown';
import rehypeSanitize from 'rehype-sanitize';
import remarkGfm from 'remark-gfm';

/**
 * Tailwind has no typography plugin here: each element gets its look. Links open in a new tab
 * and tell the target nothing of this page.
 */
const components: Components = {
  h1: ({ node: _, ...props }) => <h3 className="mt-4 mb-2 text-lg font-semibold" {...props} />,
  h2: ({ node: _, ...props }) => <h4 className="mt-4 mb-2 text-base font-semibold" {...props} />,
  h3: ({ node: _, ...props }) => <h5 className="mt-3 mb-1 font-semibold" {...props} />,
  p: ({ node: _, ...props }) => <p className="my-2 leading-relaxed" {...props} />,
  ul: ({ node: _, ...props }) => <ul className="my-2 list-disc pl-6" {...props} />,
  ol: ({ node: _, ...props }) => <ol className="my-2 list-decimal pl-6" {...props} />,
  a: ({ node: _, ...props }) => (
    <a
      className="text-sky-700 underline dark:text-sky-400"
      target="_blank"
      rel="noreferrer noopener"
      {...props}
    />
  ),
  blockquote: ({ node: _, ...props }) => (
    <blockquote
      className="my-2 border-l-4 border-zinc-300 pl-3 text-zinc-700 dark:border-zinc-700 dark:text-zinc-300"
      {...props}
    />
  ),
  pre: ({ node: _, ...props }) => (
    <pre
      className="my-2 overflow-x-auto rounded-md bg-zinc-100 p-3 font-mono text-xs dark:bg-zinc-900"
      {...props}
    />
  ),
  code: ({ node: _, ...props }) => (
    <code
      className="rounded bg-zinc-100 px-1 font-mono text-[0.85em] dark:bg-zinc-900"
      {...props}
    />
  ),
  table: ({ node: _, ...props }) => (
    <div className="my-2 overflow-x-auto">
      <table className="border-collapse text-sm" {...props} />
    </div>
  ),
  th: ({ node: _, ...props }) => (
    <th
      className="border border-zinc-300 px-2 py-1 text-left font-semibold dark:border-zinc-700"
      {...props}
    />
  ),
  td: ({ node: _, ...props }) => (
    <td className="border border-zinc-300 px-2 py-1 dark:border-zinc-700" {...props} />
  ),
};

/**
 * Markdown as an agent writes it (GitHub-flavoured: tables, task lists), rendered to React
 * elements: raw HTML in it is not rendered, and the result is sanitised (no `javascript:` links,
 * no event attributes), so an answer cannot run script in the dashboard. Loaded on demand
 * (`markdown.tsx`): pages without a run's text do without the parser.
 */
const MarkdownRenderer = memo(function MarkdownRenderer({ text }: { text: string }) {
  return (
    <div className="break-words">
      <ReactMarkdown
        remarkPlugins={[remarkGfm]}
        rehypePlugins={[rehypeSanitize]}
        skipHtml
        components={components}
      >
        {text}
      </ReactMarkdown>
    </div>
  );
});

export default MarkdownRenderer;
