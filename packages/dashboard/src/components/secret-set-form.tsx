import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useClient } from '../session.tsx';
import { inputLookClass } from './key-fields.tsx';
import { Button, ErrorNotice } from './ui.tsx';

/**
 * Sets a secret of the store (`POST /v1/secrets`, admin scope): the value goes in a password
 * field, is sent once, and is never shown again (the form forgets it).
 */
export function SecretSetForm({ name }: { name: string }) {
  const client = useClient();
  const queries = useQueryClient();
  const [value, setValue] = useState('');
  const id = useId();
  const save = useMutation({
    mutationFn: () => client.secrets.set({ name, value }),
    onSuccess: () => {
      setValue('');
      void queries.invalidateQueries({ queryKey: ['tools'] });
    },
  });
  return (
    <form
      className="flex flex-wrap items-center gap-2"
      onSubmit={(e) => {
        e.preventDefault();
        if (value !== '') save.mutate();
      }}
    >
      <label htmlFor={id} className="sr-only">
        Value of {name}
      </label>
      <input
        id={id}
        type="password"
        autoComplete="off"
        value={value}
        onChange={(e) => setValue(e.target.value)}
        placeholder="value"
        className={`w-56 ${inputLookClass}`}
      />
      <Button type="submit" disabled={value === '' || save.isPending}>
        {save.isPending ? 'Saving…' : `Set ${name}`}
      </Button>
      {save.isSuccess ? (
        <span role="status" className="text-xs text-emerald-700 dark:text-emerald-400">
          Saved (encrypted; it is not shown again)
        </span>
      ) : null}
      {save.isError ? <ErrorNotice error={save.error} /> : null}
    </form>
  );
}
