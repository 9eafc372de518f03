/**
 * A tool runner: the child process that runs the custom tools of one code bundle. `ToolRunner`
 * starts it as an unprivileged user, with an empty environment, an IPC channel and the bundle's
 * path as its argument. It loads the bundle (the agent file and everything it imports, one ES
 * module), finds the `defineTool()`s in the agent's `tools`, and runs calls as the server sends
 * them: input validated with the tool's own zod schema, `execute` given a `ctx` whose sandbox
 * operations are requests to the server (which performs them in the run's sandbox), whose log
 * lines are messages, and whose secrets came with the call.
 *
 * It imports nothing but Node's own modules: the user it runs as needs to read only this file
 * and the bundle.
 */
import { pathToFileURL } from 'node:url';
import type { FromRunner, SandboxOperation, ToRunner } from './runner-protocol.ts';

/** What the runner needs of a `defineTool()` (made by any copy of the SDK the bundle holds). */
interface BundledTool {
  name: string;
  input: {
    safeParse(
      value: unknown,
    ):
      | { success: true; data: unknown }
      | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } };
  };
  execute(input: unknown, ctx: unknown): unknown;
  approval?: unknown;
}

/** An approval rule of the bundle: a function of a call's input (true: ask a person). */
type ApprovalFunction = (input: unknown) => unknown;

const toolMarker = Symbol.for('runtools.tool');

const send = (message: FromRunner) => {
  process.send?.(message);
};

/** Calls in progress: aborting one aborts its `ctx.signal`. */
const calls = new Map<string, AbortController>();
/** Sandbox requests waiting for the server's answer. */
const requests = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
let nextRequestId = 1;
let tools: Map<string, BundledTool> | undefined;
/** The agent's `approvals` that are functions, by tool name. */
const approvals = new Map<string, ApprovalFunction>();
/** The workflow's code steps, by step id. */
const codeSteps = new Map<string, (context: unknown) => unknown>();

// The server is gone (or stopped this runner): nothing more can arrive.
process.on('disconnect', () => process.exit(0));
process.on('message', (message: ToRunner) => {
  if (message.type === 'call') void runCall(message);
  else if (message.type === 'approval') void decideApproval(message);
  else if (message.type === 'code') void runCodeStep(message);
  else if (message.type === 'cancel') {
    const error = new Error(
      message.reason === 'timeout' ? 'The call timed out.' : 'The run was cancelled.',
    );
    error.name = 'AbortError';
    calls.get(message.callId)?.abort(error);
  } else if (message.type === 'response') {
    const request = requests.get(message.requestId);
    if (request === undefined) return;
    requests.delete(message.requestId);
    if (message.ok) request.resolve(message.value);
    else {
      const error = new Error(message.error?.message ?? 'The sandbox request failed.');
      (error as Error & { code?: string }).code = message.error?.code;
      request.reject(error);
    }
  }
});

try {
  tools = await loadTools(String(process.argv[2]));
  send({ type: 'ready', tools: [...tools.keys()] });
} catch (error) {
  // Exits once the message is out: the server reports it as why the runner could not start.
  process.send?.({ type: 'failed', message: describe(error) } satisfies FromRunner, () =>
    process.exit(1),
  );
}

async function loadTools(bundle: string): Promise<Map<string, BundledTool>> {
  const mod = (await import(pathToFileURL(bundle).href)) as {
    default?: { tools?: unknown; approvals?: unknown; workflow?: { steps?: unknown } };
  };
  const found = new Map<string, BundledTool>();
  const listed = mod.default?.tools;
  for (const tool of Array.isArray(listed) ? listed : []) {
    if (isBundledTool(tool)) found.set(tool.name, tool);
  }
  const rules = mod.default?.approvals;
  if (typeof rules === 'object' && rules !== null) {
    for (const [name, rule] of Object.entries(rules)) {
      if (typeof rule === 'function') approvals.set(name, rule as ApprovalFunction);
    }
  }
  const steps = mod.default?.workflow?.steps;
  if (typeof steps === 'object' && steps !== null) {
    for (const [id, step] of Object.entries(steps)) {
      const run = (step as { run?: unknown } | null)?.run;
      if (typeof run === 'function') codeSteps.set(id, run as (context: unknown) => unknown);
    }
  }
  return found;
}

/** Runs a workflow code step and sends its output back (JSON only; a throw is its failure). */
async function runCodeStep(message: Extract<ToRunner, { type: 'code' }>): Promise<void> {
  const reply = (ok: boolean, value?: unknown, error?: string) =>
    send({ type: 'code', requestId: message.requestId, ok, ...(ok ? { value } : { error }) });
  const run = codeSteps.get(message.step);
  if (run === undefined)
    return reply(false, undefined, `the bundle has no code step "${message.step}"`);
  try {
    const value = await run(message.context);
    // What JSON keeps of it, as a stored output would be.
    reply(true, value === undefined ? null : JSON.parse(JSON.stringify(value)));
  } catch (error) {
    reply(false, undefined, describe(error));
  }
}

/**
 * Answers whether a call needs approval. Anything but a clear `false` from the function (a
 * throw, a rejected promise, no function to ask) means it does: an approval is never skipped by
 * a broken rule.
 */
async function decideApproval(question: Extract<ToRunner, { type: 'approval' }>): Promise<void> {
  const answer = (required: boolean, error?: string) =>
    send({
      type: 'approval',
      requestId: question.requestId,
      required,
      ...(error ? { error } : {}),
    });
  const tool = tools?.get(question.tool);
  const rule =
    approvals.get(question.tool) ??
    (typeof tool?.approval === 'function' ? (tool.approval as ApprovalFunction) : undefined);
  if (rule === undefined) return answer(true, `no approval function for ${question.tool}`);
  try {
    let input = question.input;
    if (tool !== undefined) {
      // A custom tool's function sees the input as its schema gives it (defaults filled in).
      const parsed = tool.input.safeParse(input);
      if (parsed.success) input = parsed.data;
    }
    answer((await rule(input)) !== false);
  } catch (error) {
    answer(true, describe(error));
  }
}

async function runCall(call: Extract<ToRunner, { type: 'call' }>): Promise<void> {
  const result = (output: string, isError: boolean) =>
    send({ type: 'result', callId: call.callId, output, isError });
  const tool = tools?.get(call.tool);
  if (tool === undefined) return result(`This bundle has no custom tool "${call.tool}".`, true);
  const parsed = tool.input.safeParse(call.input);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `${i.path.map(String).join('.') || 'input'}: ${i.message}`)
      .join('; ');
    return result(`Invalid input for ${tool.name}: ${issues}`, true);
  }
  const controller = new AbortController();
  calls.set(call.callId, controller);
  const ask = (operation: SandboxOperation) => request(call.callId, controller.signal, operation);
  const ctx = Object.freeze({
    sandbox: Object.freeze({
      exec: (command: string | string[], options: Record<string, unknown> = {}) =>
        ask({ op: 'exec', command, ...options } as SandboxOperation),
      files: Object.freeze({
        read: (path: string) => ask({ op: 'read', path }),
        write: async (path: string, text: string) => {
          await ask({ op: 'write', path, text: String(text) });
        },
        list: (path: string) => ask({ op: 'list', path }),
      }),
    }),
    signal: controller.signal,
    runId: call.runId,
    metadata: Object.freeze({ ...call.metadata }),
    log: (message: unknown) => send({ type: 'log', callId: call.callId, message: String(message) }),
    secrets: Object.freeze({ ...call.secrets }),
  });
  try {
    const value = await tool.execute(parsed.data, ctx);
    let output: string;
    try {
      output = formatResult(value);
    } catch (error) {
      return result(`${tool.name} returned a value that is not JSON: ${describe(error)}`, true);
    }
    result(output, false);
  } catch (error) {
    // The model sees what went wrong, not where: no stack.
    result(`${tool.name} failed: ${describe(error)}`, true);
  } finally {
    calls.delete(call.callId);
  }
}

/** One sandbox operation, performed by the server; rejects at once if the call was aborted. */
function request(callId: string, signal: AbortSignal, operation: SandboxOperation) {
  if (signal.aborted) return Promise.reject(signal.reason);
  const requestId = nextRequestId++;
  return new Promise<unknown>((resolve, reject) => {
    requests.set(requestId, { resolve, reject });
    send({ type: 'request', callId, requestId, operation });
  });
}

/** A string is the model's text as it is; anything else is shown as formatted JSON. */
function formatResult(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '(no output)';
  return JSON.stringify(value, null, 2) ?? String(value);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}

function isBundledTool(value: unknown): value is BundledTool {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[toolMarker] === true &&
    typeof (value as { name?: unknown }).name === 'string' &&
    typeof (value as { execute?: unknown }).execute === 'function'
  );
}
