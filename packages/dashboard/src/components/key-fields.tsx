import { type ReactNode, useId } from 'react';

/**
 * Form parts of the admin pages (API keys, webhooks, the Template Builder): every field has a
 * visible label, and its error is tied to it (`aria-describedby`) and written out, not only red.
 */

/** An input's look, without a width (`inputClass` fills the line). */
export const inputLookClass =
  'rounded-md border border-zinc-300 bg-white px-3 py-1.5 text-sm aria-[invalid=true]:border-red-600 dark:border-zinc-700 dark:bg-zinc-900 dark:aria-[invalid=true]:border-red-400';

export const inputClass = `w-full ${inputLookClass}`;

/** A primary action that navigates: a link that looks like the primary button. */
export const primaryLinkClass =
  'rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800';

export function FieldError({ id, error }: { id: string; error: string | undefined }) {
  if (!error) return null;
  return (
    <p id={id} className="mt-1 text-sm text-red-700 dark:text-red-400">
      <span aria-hidden="true">⚠ </span>
      {error}
    </p>
  );
}

export function TextField({
  label,
  value,
  onChange,
  error,
  hint,
  className,
  ...props
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | undefined;
  hint?: ReactNode;
} & Omit<React.InputHTMLAttributes<HTMLInputElement>, 'value' | 'onChange'>) {
  const id = useId();
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].join(' ').trim();
  return (
    <div>
      <label htmlFor={id} className="block text-sm font-medium">
        {label}
      </label>
      <input
        id={id}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={described || undefined}
        {...props}
        className={`mt-1 ${inputClass} ${className ?? ''}`}
      />
      {hint ? (
        <p id={`${id}-hint`} className="mt-1 text-xs text-zinc-600 dark:text-zinc-400">
          {hint}
        </p>
      ) : null}
      <FieldError id={`${id}-error`} error={error} />
    </div>
  );
}

export function Checkbox({
  label,
  checked,
  onChange,
  description,
  disabled,
}: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  description?: ReactNode;
  disabled?: boolean;
}) {
  const id = useId();
  return (
    <div className="flex items-start gap-2">
      <input
        id={id}
        type="checkbox"
        checked={checked}
        disabled={disabled}
        onChange={(e) => onChange(e.target.checked)}
        aria-describedby={description ? `${id}-description` : undefined}
        className="mt-1 size-4 accent-sky-700"
      />
      <div>
        <label htmlFor={id} className={`text-sm font-medium ${disabled ? 'opacity-60' : ''}`}>
          {label}
        </label>
        {description ? (
          <p id={`${id}-description`} className="text-xs text-zinc-600 dark:text-zinc-400">
            {description}
          </p>
        ) : null}
      </div>
    </div>
  );
}

/** A titled panel of a page. */
export function Panel({
  title,
  children,
  actions,
}: {
  title: string;
  children: ReactNode;
  actions?: ReactNode;
}) {
  const id = useId();
  return (
    <section
      aria-labelledby={id}
      className="mb-6 rounded-lg border border-zinc-200 p-4 dark:border-zinc-800"
    >
      <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
        <h2 id={id} className="text-lg font-medium">
          {title}
        </h2>
        {actions ? <div className="flex gap-2">{actions}</div> : null}
      </div>
      {children}
    </section>
  );
}

export const tableClass = 'w-full border-collapse text-left text-sm';
export const thClass =
  'border-b border-zinc-200 px-2 py-2 font-medium text-zinc-600 dark:border-zinc-800 dark:text-zinc-400';
export const tdClass = 'border-b border-zinc-100 px-2 py-2 align-top dark:border-zinc-900';
