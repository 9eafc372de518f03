import { type PtyClientMessage, ptyServerMessageSchema } from '@runtools/sdk/api';
import { FitAddon } from '@xterm/addon-fit';
import { type ITheme, Terminal as XTerm } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, useState } from 'react';
import { useClient } from '../session.tsx';
import { Button } from './ui.tsx';

type Status = 'connecting' | 'connected' | 'reconnecting' | 'waiting' | 'exited' | 'failed';

const statusText: Record<Status, string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Connection lost: reconnecting…',
  waiting: 'The sandbox is not running: resume it to use the terminal.',
  exited: 'The shell exited.',
  failed: 'Could not connect to the terminal.',
};

const themes: Record<'light' | 'dark', ITheme> = {
  light: {
    background: '#fafafa',
    foreground: '#18181b',
    cursor: '#18181b',
    cursorAccent: '#fafafa',
    selectionBackground: '#bae6fd',
  },
  dark: {
    background: '#09090b',
    foreground: '#e4e4e7',
    cursor: '#e4e4e7',
    cursorAccent: '#09090b',
    selectionBackground: '#075985',
  },
};

const currentTheme = () =>
  themes[document.documentElement.classList.contains('dark') ? 'dark' : 'light'];

/** The shell this tab last had in a sandbox: a reload reattaches to it instead of starting one. */
const sessionKey = (sandboxId: string) => `runtools-pty:${sandboxId}`;

const focusable =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** Moves focus to the first control after `element` (how the keyboard leaves the terminal). */
function focusAfter(element: HTMLElement): void {
  const next = [...document.querySelectorAll<HTMLElement>(focusable)].find(
    (candidate) =>
      !element.contains(candidate) &&
      element.compareDocumentPosition(candidate) & Node.DOCUMENT_POSITION_FOLLOWING,
  );
  if (next) next.focus();
  else (document.activeElement as HTMLElement | null)?.blur();
}

/**
 * An interactive terminal in a sandbox: xterm.js over `WS /v1/sandboxes/{id}/pty` (the session
 * cookie authenticates it). It fits its box and tells the shell each new size; a dropped
 * connection, a reload or a pause and resume reattach to the same shell with `?session=`,
 * and the server's replay of its recent output brings the screen back. It connects only while
 * the sandbox runs (connecting would resume a paused one).
 */
export function SandboxTerminal({ sandboxId, running }: { sandboxId: string; running: boolean }) {
  const client = useClient();
  const boxRef = useRef<HTMLDivElement>(null);
  const termRef = useRef<XTerm | null>(null);
  const runningRef = useRef(running);
  runningRef.current = running;
  const connectRef = useRef<() => void>(() => {});
  const restartRef = useRef<() => void>(() => {});
  const [status, setStatus] = useState<Status>('connecting');
  const [exitCode, setExitCode] = useState<number | null>(null);
  const [size, setSize] = useState({ cols: 0, rows: 0 });
  const [screenReader, setScreenReader] = useState(false);

  useEffect(() => {
    const box = boxRef.current;
    if (box === null) return;
    const term = new XTerm({
      cursorBlink: true,
      fontFamily: 'ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace',
      fontSize: 14,
      theme: currentTheme(),
      scrollback: 5000,
    });
    termRef.current = term;
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(box);
    fit.fit();
    setSize({ cols: term.cols, rows: term.rows });

    const key = sessionKey(sandboxId);
    const encoder = new TextEncoder();
    let ws: WebSocket | undefined;
    let disposed = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    /** Attached to the shell: the connection is open and the server named the session. */
    let live = false;
    /** The shell exited: a new one starts only when asked. */
    let ended = false;

    const send = (data: string | Uint8Array<ArrayBuffer>) => {
      if (ws?.readyState === WebSocket.OPEN) ws.send(data);
    };
    const control = (message: PtyClientMessage) => send(JSON.stringify(message));
    term.onData((data) => send(encoder.encode(data)));
    term.onBinary((data) => send(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
    term.onResize(({ cols, rows }) => {
      setSize({ cols, rows });
      control({ type: 'resize', rows, cols });
    });
    // Tab belongs to the shell; Shift+Escape is the way out for the keyboard.
    term.attachCustomKeyEventHandler((event) => {
      if (event.type === 'keydown' && event.key === 'Escape' && event.shiftKey) {
        event.preventDefault();
        focusAfter(box);
        return false;
      }
      return true;
    });

    const connect = () => {
      if (disposed || ended) return;
      if (!runningRef.current) {
        setStatus('waiting');
        return;
      }
      // A connection outlives a pause (the server keeps the attachment): it just goes on.
      if (live) {
        setStatus('connected');
        return;
      }
      if (ws !== undefined && ws.readyState <= WebSocket.OPEN) return;
      clearTimeout(retry);
      const session = sessionStorage.getItem(key);
      const url = new URL(
        `/v1/sandboxes/${encodeURIComponent(sandboxId)}/pty`,
        window.location.href,
      );
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      url.searchParams.set('rows', String(term.rows));
      url.searchParams.set('cols', String(term.cols));
      if (session !== null) url.searchParams.set('session', session);
      const socket = new WebSocket(url);
      socket.binaryType = 'arraybuffer';
      ws = socket;
      let attached = false;
      let exited = false;
      setStatus(failures > 0 ? 'reconnecting' : 'connecting');

      socket.onmessage = (event: MessageEvent<string | ArrayBuffer>) => {
        if (typeof event.data !== 'string') {
          term.write(new Uint8Array(event.data));
          return;
        }
        let json: unknown;
        try {
          json = JSON.parse(event.data);
        } catch {
          return;
        }
        const message = ptyServerMessageSchema.safeParse(json);
        if (!message.success) return;
        const m = message.data;
        if (m.type === 'session') {
          attached = true;
          live = true;
          failures = 0;
          sessionStorage.setItem(key, String(m.pid));
          // What follows is the terminal's recent output again (or a new shell's first): it
          // redraws the screen from a clean one.
          term.reset();
          setExitCode(null);
          setStatus(runningRef.current ? 'connected' : 'waiting');
        } else if (m.type === 'exit') {
          exited = true;
          ended = true;
          sessionStorage.removeItem(key);
          setExitCode(m.exitCode);
          setStatus('exited');
        } else {
          term.write(`\r\n\x1b[31m[${m.error.code}] ${m.error.message}\x1b[0m\r\n`);
        }
      };
      socket.onclose = () => {
        if (ws !== socket) return;
        live = false;
        if (disposed || exited) return;
        if (!attached) {
          failures += 1;
          // Refused twice with the saved session: that shell is gone, start a new one.
          if (session !== null && failures >= 2) sessionStorage.removeItem(key);
        }
        if (failures > 6) {
          setStatus('failed');
          return;
        }
        setStatus('reconnecting');
        retry = setTimeout(
          async () => {
            // Reconnecting to a paused sandbox would resume it: ask first.
            const state = await client.sandboxes.get(sandboxId).then(
              (s) => s.state,
              () => undefined,
            );
            if (state !== undefined && state !== 'running') setStatus('waiting');
            else connect();
          },
          Math.min(400 * 2 ** failures, 8000),
        );
      };
    };
    connectRef.current = connect;
    restartRef.current = () => {
      ended = false;
      failures = 0;
      sessionStorage.removeItem(key);
      connect();
    };
    connect();

    // Fit on every change of the box (the window's size, the layout), once per frame.
    let frame = 0;
    const resizes = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => fit.fit());
    });
    resizes.observe(box);
    const themeWatch = new MutationObserver(() => {
      term.options.theme = currentTheme();
    });
    themeWatch.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });

    return () => {
      disposed = true;
      clearTimeout(retry);
      cancelAnimationFrame(frame);
      resizes.disconnect();
      themeWatch.disconnect();
      ws?.close();
      term.dispose();
      termRef.current = null;
    };
  }, [sandboxId, client]);

  useEffect(() => {
    // Resumed (here or elsewhere): back to the same shell. Paused: keystrokes would go nowhere.
    if (running) connectRef.current();
    else setStatus((s) => (s === 'exited' ? s : 'waiting'));
  }, [running]);

  useEffect(() => {
    if (termRef.current) termRef.current.options.screenReaderMode = screenReader;
  }, [screenReader]);

  return (
    <section aria-label="Terminal" aria-describedby="terminal-help" className="space-y-2">
      <div className="flex flex-wrap items-center justify-between gap-3 text-sm">
        <p role="status" className="flex items-center gap-2">
          <span className="font-medium">{statusText[status]}</span>
          {status === 'exited' && exitCode !== null ? <span>(exit code {exitCode})</span> : null}
        </p>
        <div className="flex flex-wrap items-center gap-3">
          <span className="text-zinc-600 dark:text-zinc-400" data-testid="terminal-size">
            {size.cols} columns × {size.rows} rows
          </span>
          <label className="flex items-center gap-1.5">
            <input
              type="checkbox"
              checked={screenReader}
              onChange={(e) => setScreenReader(e.target.checked)}
            />
            Screen reader mode
          </label>
          {status === 'exited' || status === 'failed' ? (
            <Button onClick={() => restartRef.current()} disabled={!running}>
              Start a new shell
            </Button>
          ) : null}
        </div>
      </div>
      <div
        ref={boxRef}
        className="h-[60vh] min-h-64 overflow-hidden rounded-lg border border-zinc-300 bg-zinc-50 p-2 dark:border-zinc-700 dark:bg-zinc-950"
      />
      <p id="terminal-help" className="text-xs text-zinc-600 dark:text-zinc-400">
        Keys go to the shell (Tab too); Shift+Esc moves the focus out of the terminal. The shell
        keeps running when you leave this page, and comes back when you return.
      </p>
    </section>
  );
}
