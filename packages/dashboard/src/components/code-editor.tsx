import { javascript } from '@codemirror/lang-javascript';
import { EditorState } from '@codemirror/state';
import { basicSetup, EditorView } from 'codemirror';
import { useEffect, useRef } from 'react';

/**
 * A CodeMirror 6 editor: the agent's prompt (plain text) or, read-only, its file (TypeScript).
 * A new `value` from outside (a change on disk) replaces the text unless it is the same.
 */
export function CodeEditor({
  value,
  onChange,
  language = 'text',
  readOnly = false,
  label,
}: {
  value: string;
  onChange?: (value: string) => void;
  language?: 'text' | 'typescript';
  readOnly?: boolean;
  label: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const changed = useRef(onChange);
  changed.current = onChange;

  // biome-ignore lint/correctness/useExhaustiveDependencies: the editor is made once; `value` updates it below
  useEffect(() => {
    if (host.current === null) return;
    const editor = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          basicSetup,
          EditorView.lineWrapping,
          EditorState.readOnly.of(readOnly),
          EditorView.contentAttributes.of({ 'aria-label': label }),
          ...(language === 'typescript' ? [javascript({ typescript: true })] : []),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) changed.current?.(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    return () => editor.destroy();
  }, [readOnly, language, label]);

  useEffect(() => {
    const editor = view.current;
    if (editor === null || editor.state.doc.toString() === value) return;
    editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: value } });
  }, [value]);

  return (
    <div
      ref={host}
      className="overflow-hidden rounded-md border border-zinc-300 text-sm dark:border-zinc-700 [&_.cm-editor]:max-h-[28rem] [&_.cm-editor]:bg-white dark:[&_.cm-editor]:bg-zinc-900"
    />
  );
}
