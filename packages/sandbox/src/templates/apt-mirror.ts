import { readdir, readFile } from 'node:fs/promises';

/** The Debian mirror the host's apt uses (deb822 `.sources` or one-line `sources.list`). */
export async function hostDebianMirror(): Promise<string> {
  const files = ['/etc/apt/sources.list'];
  for (const f of await readdir('/etc/apt/sources.list.d').catch(() => [] as string[])) {
    if (f.endsWith('.sources') || f.endsWith('.list')) files.push(`/etc/apt/sources.list.d/${f}`);
  }
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      const l = line.trim();
      const m = /^URIs:\s*(\S+)/.exec(l) ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(l);
      const uri = m?.[1];
      if (uri && /\/debian\/?$/.test(uri)) return uri.replace(/\/$/, '');
    }
  }
  return 'http://deb.debian.org/debian';
}
