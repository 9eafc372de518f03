import { upgradeWebSocket } from '@hono/node-server';
import type { SandboxEngine } from '@runtools/sandbox';
import { RunToolsError } from '@runtools/sdk';
import { type PtyServerMessage, ptyClientMessageSchema, ptyQuerySchema } from '@runtools/sdk/api';
import type { Context } from 'hono';
import type { WSContext, WSEvents, WSMessageReceive } from 'hono/ws';
import { requireScope } from '../access.ts';
import type { AppEnv } from '../app-env.ts';
import { validationError } from '../errors.ts';
import { errorResponses, newRouter } from '../router.ts';
import { sandboxIdParamSchema, unavailableMessage } from './sandbox-schemas.ts';

/**
 * A login shell with bash where the template has it, else sh. `TERM` tells full-screen programs
 * what the client's terminal (xterm.js, the user's own) understands.
 */
const loginShell = [
  '/bin/sh',
  '-c',
  'if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi',
];

function send(ws: WSContext, message: PtyServerMessage): void {
  if (ws.readyState === 1) ws.send(JSON.stringify(message));
}

async function bytesOf(data: WSMessageReceive): Promise<Uint8Array> {
  if (typeof data === 'string') return new TextEncoder().encode(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(await (data as Blob).arrayBuffer());
}

/**
 * `WS /v1/sandboxes/{id}/pty`: an interactive terminal. The shell keeps running when the
 * connection drops (reconnect with `?session=PID`), until it exits (Ctrl-D) or the sandbox ends;
 * a paused sandbox is resumed first, and its terminal comes back as it was.
 */
export function sandboxPtyRoutes(engine: SandboxEngine | undefined) {
  const router = newRouter();
  router.openAPIRegistry.registerPath({
    method: 'get',
    path: '/sandboxes/{id}/pty',
    summary: 'WebSocket: an interactive terminal (a login shell on a pseudo-terminal)',
    description:
      'Binary frames carry the terminal: keystrokes from the client, output from the server. ' +
      'Text frames are JSON control messages (`PtyClientMessage`, `PtyServerMessage`): the ' +
      'server first sends `{"type":"session","pid"}`; the client resizes with ' +
      '`{"type":"resize","rows","cols"}`; when the shell exits the server sends ' +
      '`{"type":"exit","exitCode"}` and closes with 1000. `?session=PID` reconnects to a ' +
      'running terminal and replays its recent output first.',
    request: { params: sandboxIdParamSchema, query: ptyQuerySchema },
    security: [{ Bearer: ['sandboxes'] }],
    responses: {
      101: { description: 'Switching to the WebSocket protocol.' },
      ...errorResponses(400, 403, 404, 426),
    },
  });
  return router.get('/sandboxes/:id/pty', requireScope('sandboxes'), async (c, next) => {
    const params = sandboxIdParamSchema.safeParse(c.req.param());
    if (!params.success) throw validationError(params.error, 'path');
    const query = ptyQuerySchema.safeParse(c.req.query());
    if (!query.success) throw validationError(query.error, 'query');
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      throw new RunToolsError('upgrade_required', 'This is a WebSocket endpoint.');
    }
    if (engine === undefined) throw new RunToolsError('sandboxes_unavailable', unavailableMessage);
    const sandbox = engine.get(params.data.id);
    if (sandbox.state === 'paused') await sandbox.resume();
    const { rows = 24, cols = 80, session } = query.data;
    let pid: number;
    if (session === undefined) {
      pid = await sandbox.spawn(loginShell, {
        pty: { rows, cols },
        env: { TERM: 'xterm-256color' },
      });
    } else {
      const known = (await sandbox.processes.list()).find((p) => p.pid === session);
      if (known === undefined) {
        throw new RunToolsError('process_not_found', `No terminal ${session} in ${sandbox.id}.`, {
          details: { sandboxId: sandbox.id, pid: session },
        });
      }
      pid = session;
      if (query.data.rows !== undefined || query.data.cols !== undefined) {
        await sandbox.processes.resize(pid, rows, cols).catch(() => {});
      }
    }
    const encoder = new TextEncoder();
    const events: WSEvents = {
      onOpen: (_event, ws) => {
        send(ws, { type: 'session', pid });
        sandbox.processes
          .attach(pid, { onStdout: (text) => ws.readyState === 1 && ws.send(encoder.encode(text)) })
          .then(
            (exit) => {
              send(ws, {
                type: 'exit',
                exitCode: exit.exitCode,
                ...(exit.signal ? { signal: exit.signal } : {}),
              });
              ws.close(1000, 'exited');
            },
            () => ws.close(1011, 'terminal lost'),
          );
      },
      onMessage: (event, ws) => {
        void (async () => {
          if (typeof event.data !== 'string') {
            await sandbox.processes.write(pid, await bytesOf(event.data));
            return;
          }
          let json: unknown;
          try {
            json = JSON.parse(event.data);
          } catch {
            json = undefined;
          }
          const message = ptyClientMessageSchema.safeParse(json);
          if (!message.success) {
            send(ws, {
              type: 'error',
              error: {
                code: 'invalid_input',
                message:
                  'Text frames are JSON: {"type":"input","data"} or {"type":"resize","rows","cols"}.',
              },
            });
            return;
          }
          if (message.data.type === 'input') await sandbox.processes.write(pid, message.data.data);
          else await sandbox.processes.resize(pid, message.data.rows, message.data.cols);
        })().catch(() => {
          // The sandbox was paused or deleted meanwhile: the attachment ends and says so.
        });
      },
    };
    return upgradeWebSocket(() => events)(c as Context<AppEnv>, next);
  });
}
