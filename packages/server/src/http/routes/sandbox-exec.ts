import { z } from '@hono/zod-openapi';
import type { ExecOptions, ExecResult, SandboxEngine } from '@runtools/sandbox';
import { RunToolsError } from '@runtools/sdk';
import {
  backgroundStartedSchema,
  type ExecResult as ExecResultJson,
  execInputSchema,
  execResultSchema,
} from '@runtools/sdk/api';
import { streamSSE } from 'hono/streaming';
import { errorBody } from '../errors.ts';
import { errorResponses, jsonBody, jsonResponse, newRouter, scopedRoute } from '../router.ts';
import { sandboxIdParamSchema, unavailable, unavailableResponse } from './sandbox-schemas.ts';

const exec = scopedRoute('sandboxes', {
  method: 'post',
  path: '/sandboxes/{id}/exec',
  summary: 'Run a command in a sandbox and wait for it (streamed as SSE on request)',
  description:
    'With `Accept: text/event-stream` the answer is Server-Sent Events: `stdout` and `stderr` ' +
    'events whose data is `{"text": chunk}`, then one `exit` event with the result (or an ' +
    '`error` event). Closing the stream kills the command.',
  request: { params: sandboxIdParamSchema, body: jsonBody(execInputSchema) },
  responses: {
    200: {
      description: 'The result (JSON), or the output as it comes (SSE).',
      content: {
        'application/json': { schema: execResultSchema },
        'text/event-stream': { schema: z.string() },
      },
    },
    202: jsonResponse(backgroundStartedSchema, 'Started in the background.'),
    ...errorResponses(400, 404, 409, 413, 415),
    ...unavailableResponse,
  },
});

/** `POST /v1/sandboxes/{id}/exec`, as JSON or as Server-Sent Events. */
export function sandboxExecRoutes(engine: SandboxEngine | undefined) {
  return newRouter().openapi(exec, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    if (engine === undefined) return unavailable(c);
    const sandbox = engine.get(id);
    const options: ExecOptions = {
      ...(body.cwd !== undefined ? { cwd: body.cwd } : {}),
      ...(body.env !== undefined ? { env: body.env } : {}),
      ...(body.timeoutMs !== undefined ? { timeoutMs: body.timeoutMs } : {}),
      ...(body.stdin !== undefined ? { stdin: body.stdin } : {}),
    };
    if (body.background === true) {
      const started = await sandbox.exec(body.command, { ...options, background: true });
      return c.json({ pid: started.pid, background: true as const }, 202);
    }
    if (!wantsEventStream(c.req.header('accept'))) {
      const aborted = new AbortController();
      // A client that hangs up no longer waits for the command: kill it.
      c.req.raw.signal.addEventListener('abort', () => aborted.abort(), { once: true });
      return c.json(
        toJson(await sandbox.exec(body.command, { ...options, signal: aborted.signal })),
        200,
      );
    }
    // Checked before the status line: a stopped or paused sandbox is still a plain 409.
    if (sandbox.state !== 'running') {
      throw new RunToolsError(
        'sandbox_state',
        `Cannot exec in sandbox ${id}: it is ${sandbox.state}.`,
        {
          details: { sandboxId: id, state: sandbox.state },
        },
      );
    }
    return streamSSE(
      c,
      async (stream) => {
        const aborted = new AbortController();
        stream.onAbort(() => aborted.abort());
        // Chunks are written in order; the exit event waits for the ones before it.
        let written = Promise.resolve();
        const send = (event: string, data: unknown) => {
          written = written.then(() => stream.writeSSE({ event, data: JSON.stringify(data) }));
        };
        const result = await sandbox.exec(body.command, {
          ...options,
          signal: aborted.signal,
          onStdout: (text) => send('stdout', { text }),
          onStderr: (text) => send('stderr', { text }),
        });
        send('exit', toJson(result));
        await written;
      },
      async (error, stream) => {
        const known = RunToolsError.isInstance(error) && error.code !== 'internal_error';
        await stream.writeSSE({
          event: 'error',
          data: JSON.stringify(
            known
              ? errorBody(error.code, error.message)
              : errorBody('internal_error', 'The command failed.'),
          ),
        });
      },
    );
  });
}

function wantsEventStream(accept: string | undefined): boolean {
  return accept?.toLowerCase().includes('text/event-stream') ?? false;
}

/** The engine's result without undefined fields. */
function toJson(result: ExecResult): ExecResultJson {
  return {
    exitCode: result.exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
    timedOut: result.timedOut,
    ...(result.signal !== undefined ? { signal: result.signal } : {}),
    truncated: result.truncated,
    pid: result.pid,
    durationMs: Math.round(result.durationMs),
  };
}
