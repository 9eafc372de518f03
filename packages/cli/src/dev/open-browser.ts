import { spawn } from 'node:child_process';

/**
 * Opens `url` in the user's browser (`xdg-open` on Linux, `open` on macOS); resolves to false
 * when there is no opener (a server without a desktop), so the caller can say where to go instead.
 */
export function openBrowser(url: string): Promise<boolean> {
  const opener = process.platform === 'darwin' ? 'open' : 'xdg-open';
  return new Promise((resolve) => {
    const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}
