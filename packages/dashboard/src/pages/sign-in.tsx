import { type FormEvent, useState } from 'react';
import { Button } from '../components/ui.tsx';
import { useSession } from '../session.tsx';

/** Sign in with an API key: the server trades it for a session cookie; the page keeps nothing. */
export function SignInPage() {
  const { signIn } = useSession();
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(key.trim());
      setKey('');
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="mx-auto mt-24 max-w-md px-4">
      <h1 className="text-2xl font-semibold">Sign in to RunTools</h1>
      <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">
        Paste an API key (<code>rtk_…</code>, or the server's <code>RUNTOOLS_API_KEY</code>;{' '}
        <code>runtools dev</code> prints one). It is sent once and stays on the server.
      </p>
      <form onSubmit={submit} className="mt-6 space-y-3">
        <label className="block text-sm font-medium" htmlFor="api-key">
          API key
        </label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          required
          value={key}
          onChange={(e) => setKey(e.target.value)}
          className="w-full rounded-md border border-zinc-300 bg-white px-3 py-2 font-mono text-sm dark:border-zinc-700 dark:bg-zinc-900"
        />
        {error ? (
          <p role="alert" className="text-sm text-red-700 dark:text-red-400">
            {error}
          </p>
        ) : null}
        <Button type="submit" variant="primary" disabled={busy || key.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </Button>
      </form>
    </main>
  );
}
