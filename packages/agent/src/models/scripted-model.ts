import { setTimeout as sleep } from 'node:timers/promises';
import type { LanguageModel } from 'ai';

/** The AI SDK's provider interface for language models (spec v4), without depending on its package. */
type LanguageModelV4 = Extract<LanguageModel, { specificationVersion: 'v4' }>;
type CallOptions = Parameters<LanguageModelV4['doStream']>[0];
type StreamResult = Awaited<ReturnType<LanguageModelV4['doStream']>>;
type StreamPart = StreamResult['stream'] extends ReadableStream<infer P> ? P : never;
type GenerateResult = Awaited<ReturnType<LanguageModelV4['doGenerate']>>;
type PromptMessage = CallOptions['prompt'][number];

/** The model id `resolveModel` reports for the scripted model. */
export const SCRIPTED_MODEL_ID = 'runtools-scripted-demo';

/** What one model call of the scripted model produces. */
interface Turn {
  reasoning: string;
  text?: string;
  toolCall?: { toolCallId: string; toolName: string; input: Record<string, unknown> };
}

export interface ScriptedModelOptions {
  /** Pause between streamed chunks, so the stream looks like a model's (default 8 ms; 0 for none). */
  chunkDelayMs?: number;
}

/**
 * RunTools' built-in demo model: deterministic, no network, no key. It drives the agent loop like
 * a real model does so a fresh project works end to end: it streams a short reasoning, calls one
 * tool that fits the input (`read_file`/`cat` of a file the input names, `ls -la` for a question
 * about files, `uname -a` otherwise) when the agent has one, and then answers with text that
 * quotes the tool's result, says that it is the scripted demo model, and how to use a real one.
 * `model: 'auto'` falls back to it when no provider key is set.
 */
export function scriptedModel(options: ScriptedModelOptions = {}): LanguageModelV4 {
  const delay = options.chunkDelayMs ?? 8;
  return {
    specificationVersion: 'v4',
    provider: 'runtools',
    modelId: SCRIPTED_MODEL_ID,
    supportedUrls: {},
    async doGenerate(call: CallOptions): Promise<GenerateResult> {
      const turn = planTurn(call);
      const content: GenerateResult['content'] = [{ type: 'reasoning', text: turn.reasoning }];
      if (turn.text) content.push({ type: 'text', text: turn.text });
      if (turn.toolCall) {
        content.push({
          type: 'tool-call',
          toolCallId: turn.toolCall.toolCallId,
          toolName: turn.toolCall.toolName,
          input: JSON.stringify(turn.toolCall.input),
        });
      }
      return {
        content,
        finishReason: finishReason(turn),
        usage: usage(call, turn),
        warnings: [],
        response: { modelId: SCRIPTED_MODEL_ID, timestamp: new Date(0) },
      };
    },
    async doStream(call: CallOptions): Promise<StreamResult> {
      const turn = planTurn(call);
      const parts = streamParts(call, turn);
      const signal = call.abortSignal;
      let i = 0;
      const stream = new ReadableStream<StreamPart>({
        async pull(controller) {
          const part = parts[i++];
          if (part === undefined) return controller.close();
          if (delay > 0 && (part.type === 'text-delta' || part.type === 'reasoning-delta')) {
            try {
              await sleep(delay, undefined, signal ? { signal } : {});
            } catch {
              return controller.error(signal?.reason);
            }
          }
          controller.enqueue(part);
        },
      });
      return { stream };
    },
  };
}

function streamParts(call: CallOptions, turn: Turn): StreamPart[] {
  const parts: StreamPart[] = [
    { type: 'stream-start', warnings: [] },
    { type: 'response-metadata', modelId: SCRIPTED_MODEL_ID, timestamp: new Date(0) },
    { type: 'reasoning-start', id: 'reasoning-0' },
    ...chunks(turn.reasoning).map(
      (delta): StreamPart => ({ type: 'reasoning-delta', id: 'reasoning-0', delta }),
    ),
    { type: 'reasoning-end', id: 'reasoning-0' },
  ];
  if (turn.text) {
    parts.push({ type: 'text-start', id: 'text-0' });
    for (const delta of chunks(turn.text)) parts.push({ type: 'text-delta', id: 'text-0', delta });
    parts.push({ type: 'text-end', id: 'text-0' });
  }
  if (turn.toolCall) {
    const { toolCallId: id, toolName, input } = turn.toolCall;
    const json = JSON.stringify(input);
    parts.push(
      { type: 'tool-input-start', id, toolName },
      { type: 'tool-input-delta', id, delta: json },
      { type: 'tool-input-end', id },
      { type: 'tool-call', toolCallId: id, toolName, input: json },
    );
  }
  parts.push({ type: 'finish', finishReason: finishReason(turn), usage: usage(call, turn) });
  return parts;
}

/** A few words per chunk, whitespace kept, so the text joins back exactly. */
function chunks(text: string): string[] {
  return text.match(/(\S+\s*){1,4}|\s+/g) ?? [text];
}

function finishReason(turn: Turn): GenerateResult['finishReason'] {
  return turn.toolCall
    ? { unified: 'tool-calls', raw: 'tool_use' }
    : { unified: 'stop', raw: 'end_turn' };
}

/** Rough token counts (four characters a token), so usage adds up like a real model's. */
function usage(call: CallOptions, turn: Turn): GenerateResult['usage'] {
  const input = Math.ceil(JSON.stringify(call.prompt).length / 4);
  const reasoning = Math.ceil(turn.reasoning.length / 4);
  const text = Math.ceil(
    ((turn.text ?? '').length + JSON.stringify(turn.toolCall?.input ?? '').length) / 4,
  );
  return {
    inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
    outputTokens: { total: reasoning + text, text, reasoning },
  };
}

/** The user's request (the last user message) and the tool results that followed it. */
function conversation(prompt: CallOptions['prompt']): {
  input: string;
  results: Array<{ toolName: string; output: string; isError: boolean }>;
  calls: number;
} {
  let last = -1;
  prompt.forEach((m, i) => {
    if (m.role === 'user') last = i;
  });
  const user = prompt[last] as Extract<PromptMessage, { role: 'user' }> | undefined;
  const input = (user?.content ?? [])
    .map((p) => (p.type === 'text' ? p.text : ''))
    .join('\n')
    .trim();
  const results: Array<{ toolName: string; output: string; isError: boolean }> = [];
  let calls = 0;
  for (const m of prompt) {
    if (m.role === 'assistant') {
      calls += m.content.filter((p) => p.type === 'tool-call').length;
    }
  }
  for (const m of prompt.slice(last + 1)) {
    if (m.role !== 'tool') continue;
    for (const p of m.content) {
      if (p.type !== 'tool-result') continue;
      const o = p.output;
      const output =
        o.type === 'text' || o.type === 'error-text'
          ? o.value
          : o.type === 'json' || o.type === 'error-json'
            ? JSON.stringify(o.value)
            : o.type;
      results.push({
        toolName: p.toolName,
        output,
        isError: o.type === 'error-text' || o.type === 'error-json',
      });
    }
  }
  return { input, results, calls };
}

const HOW_TO_USE_A_REAL_MODEL =
  "To get real answers, set ANTHROPIC_API_KEY, OPENAI_API_KEY or GOOGLE_GENERATIVE_AI_API_KEY in the RunTools server's environment (for `runtools dev`: in the shell that starts it) and restart it; agents with `model: 'auto'` then use that provider.";

function planTurn(call: CallOptions): Turn {
  const tools = new Set((call.tools ?? []).filter((t) => t.type === 'function').map((t) => t.name));
  const { input, results, calls } = conversation(call.prompt);
  const quoted = input.length > 120 ? `${input.slice(0, 117)}...` : input;
  if (results.length === 0) {
    const plan = pickTool(input, tools);
    if (plan) {
      return {
        reasoning: `The request is "${quoted}". I am the scripted demo model, so I do not really reason about it; instead I show the agent loop at work: ${plan.why}, in this run's sandbox, then report what came back.`,
        toolCall: { toolCallId: `scripted-call-${calls + 1}`, ...plan.call },
      };
    }
    return {
      reasoning: `The request is "${quoted}". This agent has no tool I can demonstrate (bash, read_file or glob), so I answer directly.`,
      text: `I am RunTools' scripted demo model: no real model is configured, so I can't really answer "${quoted}". ${HOW_TO_USE_A_REAL_MODEL}`,
    };
  }
  const r = results[results.length - 1] as (typeof results)[number];
  const lines = r.output.replace(/\s+$/, '').split('\n');
  const shown = lines.slice(0, 20).join('\n').slice(0, 2000);
  const more = lines.length > 20 || r.output.length > 2000 ? '\n[…]' : '';
  return {
    reasoning: `The ${r.toolName} tool ${r.isError ? 'reported an error' : `returned ${lines.length} line(s)`}. I quote it in the answer and say how to use a real model.`,
    text:
      `I am RunTools' scripted demo model: no real model is configured, so instead of answering "${quoted}" I ran the ${r.toolName} tool in this run's sandbox to show the agent loop working end to end. ` +
      `${r.isError ? 'It failed' : 'It returned'}:\n\n\`\`\`\n${shown}${more}\n\`\`\`\n\n${HOW_TO_USE_A_REAL_MODEL}`,
  };
}

interface ToolPlan {
  why: string;
  call: { toolName: string; input: Record<string, unknown> };
}

/** One tool call that fits the input, among the agent's tools. */
function pickTool(input: string, tools: Set<string>): ToolPlan | undefined {
  const bash = (command: string, why: string): ToolPlan | undefined =>
    tools.has('bash') ? { why, call: { toolName: 'bash', input: { command } } } : undefined;
  const file = namedFile(input);
  if (file) {
    if (tools.has('read_file')) {
      return {
        why: `read ${file} with the read_file tool`,
        call: { toolName: 'read_file', input: { path: file } },
      };
    }
    const plan = bash(`cat -- ${shellQuote(file)}`, `print ${file} with \`cat\` (bash tool)`);
    if (plan) return plan;
  }
  if (
    /\b(ls|list|files?|dir|directory|directories|folders?|contents?|workspace|project)\b/i.test(
      input,
    )
  ) {
    const plan = bash('ls -la', 'list the working directory with `ls -la` (bash tool)');
    if (plan) return plan;
    if (tools.has('glob')) {
      return {
        why: 'list the files of the working directory with the glob tool',
        call: { toolName: 'glob', input: { pattern: '*' } },
      };
    }
  }
  return (
    bash('uname -a', 'look at the machine with `uname -a` (bash tool)') ??
    (tools.has('glob')
      ? {
          why: 'list the files of the working directory with the glob tool',
          call: { toolName: 'glob', input: { pattern: '*' } },
        }
      : undefined)
  );
}

/** A file path the input names: `/etc/os-release`, `./src/a.ts`, `package.json`. */
function namedFile(input: string): string | undefined {
  for (const raw of input.split(/\s+/)) {
    const token = raw.replace(/^[`'"(<[]+/, '').replace(/[`'")>\],;:!?.]+$/, '');
    if (!token || token.includes('://')) continue;
    if (/^(\/|\.\.?\/|~\/)[\w./~-]*[\w-]$/.test(token) && token.length > 1) return token;
    if (/^[\w-][\w.-]*\/[\w./-]*\w$/.test(token) && /\.\w+$/.test(token)) return token;
    if (/^[\w-]{2,}(\.[\w-]+)*\.[A-Za-z][A-Za-z0-9]{0,7}$/.test(token)) return token;
  }
  return undefined;
}

function shellQuote(value: string): string {
  return /^[\w./~-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
