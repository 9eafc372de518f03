import { operatingSystems, runtimeNames } from '@runtools/sdk/api';
import { useId } from 'react';
import { Checkbox, FieldError, inputClass, inputLookClass, TextField } from './key-fields.tsx';
import {
  type DraftErrors,
  defaultRuntimeVersion,
  type RuntimeName,
  runtimeLabels,
  runtimeVersionHints,
  type SpecDraft,
} from './template-spec-draft.ts';
import { Button } from './ui.tsx';

const osLabels: Record<string, string> = {
  'debian-13': 'Debian 13 (trixie)',
  'debian-12': 'Debian 12 (bookworm)',
  'ubuntu-24.04': 'Ubuntu 24.04 LTS (noble)',
  'ubuntu-22.04': 'Ubuntu 22.04 LTS (jammy)',
};

function PackagesField({
  label,
  value,
  onChange,
  error,
  hint,
  placeholder,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  error: string | undefined;
  hint: string;
  placeholder: string;
}) {
  const id = useId();
  return (
    <div>
      <label htmlFor={id} className="block text-sm font-medium">
        {label}
      </label>
      <textarea
        id={id}
        rows={2}
        value={value}
        placeholder={placeholder}
        spellCheck={false}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={`${id}-hint${error ? ` ${id}-error` : ''}`}
        className={`mt-1 font-mono ${inputClass}`}
      />
      <p id={`${id}-hint`} className="mt-1 text-xs text-zinc-600 dark:text-zinc-400">
        {hint}
      </p>
      <FieldError id={`${id}-error`} error={error} />
    </div>
  );
}

function RuntimeField({
  name,
  draft,
  onChange,
}: {
  name: RuntimeName;
  draft: SpecDraft;
  onChange: (draft: SpecDraft) => void;
}) {
  const id = useId();
  const runtime = draft.runtimes[name];
  const set = (next: { on: boolean; version: string }) =>
    onChange({ ...draft, runtimes: { ...draft.runtimes, [name]: next } });
  return (
    <div className="flex flex-wrap items-end gap-3">
      <div className="w-32">
        <Checkbox
          label={runtimeLabels[name]}
          checked={runtime.on}
          onChange={(on) =>
            set({
              on,
              version: runtime.version || defaultRuntimeVersion(name, draft.os),
            })
          }
        />
      </div>
      {runtime.on ? (
        <div>
          <label htmlFor={id} className="sr-only">
            {runtimeLabels[name]} version
          </label>
          <input
            id={id}
            list={`${id}-versions`}
            value={runtime.version}
            onChange={(e) => set({ on: true, version: e.target.value })}
            className={`w-32 ${inputLookClass}`}
          />
          <datalist id={`${id}-versions`}>
            {runtimeVersionHints(name, draft.os).map((v) => (
              <option key={v} value={v} />
            ))}
          </datalist>
        </div>
      ) : null}
    </div>
  );
}

/**
 * The Template Builder's form: a name, the OS, runtimes at versions, apt / npm / pip packages, env
 * and the optional start and ready commands. Errors come from the contract's spec schema.
 */
export function TemplateSpecForm({
  draft,
  onChange,
  errors,
  showErrors,
}: {
  draft: SpecDraft;
  onChange: (draft: SpecDraft) => void;
  errors: DraftErrors;
  /** Before the first submit, only errors of fields with something typed in them show. */
  showErrors: boolean;
}) {
  const osId = useId();
  const shown = (field: keyof DraftErrors, typed: boolean) =>
    showErrors || typed ? errors[field] : undefined;

  return (
    <div className="space-y-5">
      <TextField
        label="Template name"
        value={draft.slug}
        onChange={(slug) => onChange({ ...draft, slug })}
        placeholder="my-app"
        autoComplete="off"
        spellCheck={false}
        hint={
          <>
            Sandboxes and deployments name it: <code>template: '{draft.slug || 'my-app'}'</code>.
          </>
        }
        error={shown('slug', draft.slug !== '')}
        className="font-mono sm:max-w-sm"
      />
      <div>
        <label htmlFor={osId} className="block text-sm font-medium">
          Operating system
        </label>
        <select
          id={osId}
          value={draft.os}
          onChange={(e) => onChange({ ...draft, os: e.target.value as SpecDraft['os'] })}
          className={`mt-1 ${inputClass} sm:max-w-sm`}
        >
          {operatingSystems.map((os) => (
            <option key={os} value={os}>
              {osLabels[os] ?? os}
            </option>
          ))}
        </select>
      </div>
      <fieldset>
        <legend className="text-sm font-medium">Runtimes</legend>
        <p className="text-xs text-zinc-600 dark:text-zinc-400">
          Versions the OS ships install from its packages; other Node.js versions and Bun come from
          npm.
        </p>
        <div className="mt-2 space-y-2">
          {runtimeNames.map((name) => (
            <RuntimeField key={name} name={name} draft={draft} onChange={onChange} />
          ))}
        </div>
        <FieldError id={`${osId}-runtimes`} error={shown('runtimes', true)} />
      </fieldset>
      <div className="grid gap-4 lg:grid-cols-3">
        <PackagesField
          label="apt packages"
          value={draft.apt}
          onChange={(apt) => onChange({ ...draft, apt })}
          error={shown('apt', draft.apt !== '')}
          placeholder="jq git"
          hint="Debian or Ubuntu package names (name=version pins one), separated by spaces."
        />
        <PackagesField
          label="npm packages"
          value={draft.npm}
          onChange={(npm) => onChange({ ...draft, npm })}
          error={shown('npm', draft.npm !== '')}
          placeholder="pnpm typescript@5"
          hint="Installed globally (npm install -g); adds Node.js and npm."
        />
        <PackagesField
          label="pip packages"
          value={draft.pip}
          onChange={(pip) => onChange({ ...draft, pip })}
          error={shown('pip', draft.pip !== '')}
          placeholder="requests numpy==2.2"
          hint="Requirements such as requests or numpy==2.2; adds pip."
        />
      </div>
      <fieldset>
        <legend className="text-sm font-medium">Environment variables</legend>
        <div className="mt-2 space-y-2">
          {draft.env.length === 0 ? (
            <p className="text-xs text-zinc-600 dark:text-zinc-400">
              None: every sandbox of the template starts with these set.
            </p>
          ) : null}
          {draft.env.map((row, index) => {
            const set = (next: Partial<typeof row>) =>
              onChange({
                ...draft,
                env: draft.env.map((e) => (e.id === row.id ? { ...e, ...next } : e)),
              });
            return (
              <div key={row.id} className="flex flex-wrap items-center gap-2">
                <input
                  aria-label={`Name of variable ${index + 1}`}
                  value={row.name}
                  placeholder="NAME"
                  spellCheck={false}
                  onChange={(e) => set({ name: e.target.value })}
                  className={`w-48 font-mono ${inputLookClass}`}
                />
                <span aria-hidden="true">=</span>
                <input
                  aria-label={`Value of variable ${index + 1}`}
                  value={row.value}
                  placeholder="value"
                  spellCheck={false}
                  onChange={(e) => set({ value: e.target.value })}
                  className={`min-w-0 flex-1 font-mono ${inputLookClass}`}
                />
                <Button
                  aria-label={`Remove variable ${index + 1}`}
                  onClick={() =>
                    onChange({ ...draft, env: draft.env.filter((e) => e.id !== row.id) })
                  }
                >
                  Remove
                </Button>
              </div>
            );
          })}
          <Button
            onClick={() => {
              const id = draft.env.reduce((max, e) => Math.max(max, e.id + 1), 0);
              onChange({ ...draft, env: [...draft.env, { id, name: '', value: '' }] });
            }}
          >
            Add variable
          </Button>
          <FieldError id={`${osId}-env`} error={shown('env', true)} />
        </div>
      </fieldset>
      <details>
        <summary className="cursor-pointer text-sm font-medium">
          Start and ready commands (optional)
        </summary>
        <div className="mt-3 grid gap-4 lg:grid-cols-2">
          <TextField
            label="Start command"
            value={draft.startCmd}
            onChange={(startCmd) => onChange({ ...draft, startCmd })}
            placeholder="python3 -m http.server 8000"
            hint="Started in the background in every new sandbox of the template."
            className="font-mono"
            error={shown('startCmd', draft.startCmd !== '')}
          />
          <TextField
            label="Ready command"
            value={draft.readyCmd}
            onChange={(readyCmd) => onChange({ ...draft, readyCmd })}
            placeholder="curl -sf localhost:8000"
            hint="Polled after the start command until it exits 0: the sandbox is handed out then."
            className="font-mono"
            error={shown('readyCmd', draft.readyCmd !== '')}
          />
        </div>
      </details>
    </div>
  );
}
