import type { ApiScope } from '@runtools/sdk/api';
import { Link, Outlet } from '@tanstack/react-router';
import { useEffect, useState } from 'react';
import { Button } from './components/ui.tsx';
import { SignInPage } from './pages/sign-in.tsx';
import { useSession } from './session.tsx';

/** The sections, each shown only to a key that may use it (any one of its scopes). */
const sections: Array<{ to: string; label: string; scopes: ApiScope[] }> = [
  { to: '/agents', label: 'Agents', scopes: ['deploy'] },
  { to: '/deployments', label: 'Deployments', scopes: ['deploy', 'run'] },
  { to: '/runs', label: 'Runs', scopes: ['run'] },
  { to: '/sandboxes', label: 'Sandboxes', scopes: ['sandboxes'] },
  { to: '/templates', label: 'Templates', scopes: ['deploy', 'sandboxes'] },
  { to: '/tools', label: 'Tools', scopes: ['deploy', 'admin'] },
  { to: '/webhooks', label: 'Webhooks', scopes: ['admin'] },
  { to: '/keys', label: 'API keys', scopes: ['admin'] },
];

type Theme = 'light' | 'dark';

function initialTheme(): Theme {
  const saved = localStorage.getItem('runtools-theme');
  if (saved === 'light' || saved === 'dark') return saved;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function Layout() {
  const { session, signOut, can } = useSession();
  const [theme, setTheme] = useState<Theme>(initialTheme);

  useEffect(() => {
    document.documentElement.classList.toggle('dark', theme === 'dark');
    localStorage.setItem('runtools-theme', theme);
  }, [theme]);

  if (session === false) return <SignInPage />;

  return (
    <div className="min-h-screen">
      <header className="border-b border-zinc-200 dark:border-zinc-800">
        <div className="mx-auto flex max-w-7xl flex-wrap items-center gap-4 px-4 py-3">
          <Link to="/" className="font-semibold">
            RunTools
          </Link>
          <nav aria-label="Main" className="flex flex-1 flex-wrap gap-1">
            {sections
              .filter((s) => s.scopes.some(can))
              .map((s) => (
                <Link
                  key={s.to}
                  to={s.to}
                  className="rounded px-2 py-1 text-sm text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
                  activeProps={{
                    'aria-current': 'page',
                    className: 'bg-zinc-100 font-medium dark:bg-zinc-800',
                  }}
                >
                  {s.label}
                </Link>
              ))}
          </nav>
          <span className="text-xs text-zinc-500" title={session.apiKey.scopes.join(', ')}>
            {session.apiKey.name}
          </span>
          <Button
            aria-label={theme === 'dark' ? 'Switch to the light theme' : 'Switch to the dark theme'}
            onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}
          >
            {theme === 'dark' ? 'Light' : 'Dark'}
          </Button>
          <Button onClick={() => void signOut()}>Sign out</Button>
        </div>
      </header>
      <main className="mx-auto max-w-7xl px-4 py-6">
        <Outlet />
      </main>
    </div>
  );
}
