import type { AgentField } from '@runtools/sdk/api';
import { CodeEditor } from './code-editor.tsx';

/** The models the picker offers; any other string or a custom endpoint is kept as it is. */
export const knownModels = [
  { value: 'auto', label: 'auto: the first provider the server has a key for' },
  { value: 'claude-sonnet-4-5', label: 'Anthropic: claude-sonnet-4-5' },
  { value: 'claude-opus-4-1', label: 'Anthropic: claude-opus-4-1' },
  { value: 'gpt-5', label: 'OpenAI: gpt-5' },
  { value: 'gpt-5-mini', label: 'OpenAI: gpt-5-mini' },
  { value: 'gemini-2.5-pro', label: 'Google: gemini-2.5-pro' },
  { value: 'gemini-2.5-flash', label: 'Google: gemini-2.5-flash' },
  { value: 'scripted', label: 'scripted: the demo model, no key' },
];

export interface FormProps {
  fields: AgentField[];
  /** The value each field shows: the draft's, else the file's. */
  value: (name: string) => unknown;
  set: (name: string, value: unknown) => void;
  tools: { core: string[]; installed: string[] };
  templates: string[];
}

const input =
  'w-full rounded-md border border-zinc-300 bg-white px-2 py-1 text-sm dark:border-zinc-700 dark:bg-zinc-900';

/** A field the builder cannot write: its source, and why. */
function ReadOnlyField({ field }: { field: AgentField }) {
  return (
    <div className="space-y-1" data-field={field.name}>
      <div className="text-sm font-medium">{field.name}</div>
      <pre className="overflow-x-auto rounded bg-zinc-100 p-2 text-xs dark:bg-zinc-800">
        {field.source}
      </pre>
      <p className="text-xs text-zinc-500">Read-only: {field.reason}</p>
    </div>
  );
}

function Labelled({
  name,
  label,
  children,
}: {
  name: string;
  label: string;
  children: React.ReactNode;
}) {
  return (
    <div data-field={name}>
      {/* biome-ignore lint/a11y/noLabelWithoutControl: the control is the child passed in */}
      <label className="block space-y-1">
        <span className="text-sm font-medium">{label}</span>
        {children}
      </label>
    </div>
  );
}

/** The agent builder's form: one control per editable field, the others read-only with their source. */
export function AgentFieldsForm({ fields, value, set, tools, templates }: FormProps) {
  const field = (name: string) => fields.findLast((f) => f.name === name);
  const editable = (name: string) => field(name) === undefined || field(name)?.editable === true;
  const text = (name: string) => (typeof value(name) === 'string' ? (value(name) as string) : '');
  const model = value('model');
  const custom =
    typeof model === 'object' && model !== null ? (model as Record<string, unknown>) : null;
  const modelChoice = custom ? 'custom' : typeof model === 'string' ? model : 'auto';
  const selectedTools = Array.isArray(value('tools'))
    ? (value('tools') as unknown[]).filter((t) => typeof t === 'string')
    : [];
  const toolChoices = [
    ...new Set([...tools.core, ...tools.installed, ...(selectedTools as string[])]),
  ];
  const templateChoices = [...new Set(['', ...templates, text('template')])];

  return (
    <div className="space-y-5">
      {fields
        .filter((f) => !f.editable)
        .map((f) => (
          <ReadOnlyField key={`${f.name}-${f.range.start}`} field={f} />
        ))}
      {editable('name') ? (
        <Labelled name="name" label="Name">
          <input
            className={input}
            value={text('name')}
            onChange={(e) => set('name', e.target.value || null)}
          />
        </Labelled>
      ) : null}
      {editable('description') ? (
        <Labelled name="description" label="Description">
          <input
            className={input}
            value={text('description')}
            onChange={(e) => set('description', e.target.value || null)}
          />
        </Labelled>
      ) : null}
      {editable('model') ? (
        <div className="space-y-2" data-field="model">
          <label className="block space-y-1">
            <span className="text-sm font-medium">Model</span>
            <select
              className={input}
              value={modelChoice}
              onChange={(e) =>
                set(
                  'model',
                  e.target.value === 'custom'
                    ? { provider: 'custom', endpoint: 'http://127.0.0.1:8000/v1', model: 'default' }
                    : e.target.value,
                )
              }
            >
              {[
                ...knownModels,
                ...(knownModels.some((m) => m.value === modelChoice) || modelChoice === 'custom'
                  ? []
                  : [{ value: modelChoice, label: modelChoice }]),
              ].map((m) => (
                <option key={m.value} value={m.value}>
                  {m.label}
                </option>
              ))}
              <option value="custom">Custom OpenAI-compatible endpoint…</option>
            </select>
          </label>
          {custom ? (
            <div className="grid grid-cols-2 gap-2">
              <label className="block space-y-1">
                <span className="text-xs">Endpoint</span>
                <input
                  className={input}
                  value={String(custom.endpoint ?? '')}
                  onChange={(e) => set('model', { ...custom, endpoint: e.target.value })}
                />
              </label>
              <label className="block space-y-1">
                <span className="text-xs">Model name</span>
                <input
                  className={input}
                  value={String(custom.model ?? '')}
                  onChange={(e) => set('model', { ...custom, model: e.target.value })}
                />
              </label>
            </div>
          ) : null}
        </div>
      ) : null}
      {editable('systemPrompt') ? (
        <div className="space-y-1" data-field="systemPrompt">
          <span className="text-sm font-medium">System prompt</span>
          <CodeEditor
            label="System prompt"
            value={text('systemPrompt')}
            onChange={(v) => set('systemPrompt', v)}
          />
        </div>
      ) : null}
      {editable('tools') ? (
        <fieldset className="space-y-1" data-field="tools">
          <legend className="text-sm font-medium">Tools</legend>
          <div className="flex flex-wrap gap-3">
            {toolChoices.map((tool) => (
              <label key={tool} className="flex items-center gap-1 text-sm">
                <input
                  type="checkbox"
                  checked={selectedTools.includes(tool)}
                  onChange={(e) =>
                    set(
                      'tools',
                      e.target.checked
                        ? [...selectedTools, tool]
                        : selectedTools.filter((t) => t !== tool),
                    )
                  }
                />
                {tool}
              </label>
            ))}
          </div>
        </fieldset>
      ) : null}
      {editable('template') ? (
        <Labelled name="template" label="Template">
          <select
            className={input}
            value={text('template')}
            onChange={(e) => set('template', e.target.value || null)}
          >
            {templateChoices.map((t) => (
              <option key={t} value={t}>
                {t === '' ? "(the project's default)" : t}
              </option>
            ))}
          </select>
        </Labelled>
      ) : null}
      <div className="grid grid-cols-3 gap-3">
        {(['maxSteps', 'timeoutMs', 'temperature'] as const).map((name) =>
          editable(name) ? (
            <Labelled key={name} name={name} label={name}>
              <input
                className={input}
                type="number"
                step={name === 'temperature' ? 0.1 : 1}
                value={typeof value(name) === 'number' ? String(value(name)) : ''}
                onChange={(e) => set(name, e.target.value === '' ? null : Number(e.target.value))}
              />
            </Labelled>
          ) : null,
        )}
      </div>
    </div>
  );
}
