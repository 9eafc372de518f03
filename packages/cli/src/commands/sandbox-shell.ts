import { type PtyServerMessage, RunToolsError } from '@runtools/sdk';
import { Command } from 'commander';
import WebSocket from 'ws';
import { type ClientFlags, resolveClientConfig, withClientOptions } from '../client-config.ts';

/**
 * `runtools sandbox shell ID`: the sandbox's terminal (`WS /v1/sandboxes/{id}/pty`) in this one.
 * The local terminal goes into raw mode (every key, Ctrl-C included, goes to the sandbox), its
 * size follows SIGWINCH, and the command ends with the shell (Ctrl-D), exiting with its code.
 */
export function sandboxShellCommand(): Command {
  return withClientOptions(
    new Command('shell')
      .showHelpAfterError('(runtools sandbox shell --help shows how to use it)')
      .description('Open a terminal in a sandbox (a login shell; Ctrl-D ends it)')
      .argument('<id>', 'sandbox id')
      .option('--session <pid>', 'reconnect to a terminal that is still running'),
  ).action(async (id: string, flags: ClientFlags & { session?: string }) => {
    const config = resolveClientConfig(flags);
    const { stdin, stdout } = process;
    const size = () => ({ rows: stdout.rows || 24, cols: stdout.columns || 80 });
    const url = new URL(`/v1/sandboxes/${encodeURIComponent(id)}/pty`, config.baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('rows', String(size().rows));
    url.searchParams.set('cols', String(size().cols));
    if (flags.session) url.searchParams.set('session', flags.session);
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${config.apiKey}` } });

    const code = await new Promise<number>((resolve, reject) => {
      let exitCode = 0;
      const restore = () => {
        if (stdin.isTTY) stdin.setRawMode(false);
        stdin.pause();
        process.off('SIGWINCH', onResize);
      };
      const onResize = () => {
        if (ws.readyState === WebSocket.OPEN)
          ws.send(JSON.stringify({ type: 'resize', ...size() }));
      };
      ws.on('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as {
            error?: { code: string; message: string };
          };
          reject(
            body.error
              ? new RunToolsError(body.error.code as never, body.error.message)
              : new Error(`The server answered ${res.statusCode} to the terminal request.`),
          );
        });
      });
      ws.on('open', () => {
        if (stdin.isTTY) stdin.setRawMode(true);
        stdin.resume();
        stdin.on('data', (data: Buffer) => ws.send(data));
        process.on('SIGWINCH', onResize);
      });
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) {
          stdout.write(data);
          return;
        }
        const message = JSON.parse(data.toString()) as PtyServerMessage;
        if (message.type === 'exit') exitCode = message.exitCode;
        else if (message.type === 'error') process.stderr.write(`${message.error.message}\n`);
      });
      ws.on('close', () => {
        restore();
        resolve(exitCode);
      });
      ws.on('error', (error) => {
        restore();
        reject(error);
      });
    });
    process.exitCode = code;
  });
}
