import type {
  ParsedRequest,
  PlannedTurn,
  RecordedMessage,
  RecordedRequest,
  SseFrame,
  WireFormat,
} from '../test-model-server.ts';

/**
 * OpenAI Chat Completions (`POST /v1/chat/completions`), also what OpenAI-compatible servers
 * speak. Reasoning goes out as `reasoning_content` deltas, the field OpenAI-compatible servers
 * (DeepSeek, vLLM) use; OpenAI's own provider ignores it, as OpenAI sends none.
 */
export const openaiChatWire: WireFormat = {
  api: 'openai-chat',
  parseRequest,
  errorBody: openaiErrorBody,
  streamFrames,
  responseBody,
};

/** `{ error: { message, type, param, code } }`, the error body of OpenAI's APIs. */
export function openaiErrorBody(status: number, message: string): unknown {
  const [type, code] =
    status === 401
      ? ['invalid_request_error', 'invalid_api_key']
      : status === 429
        ? ['requests', 'rate_limit_exceeded']
        : status >= 500
          ? ['server_error', null]
          : status === 404
            ? ['invalid_request_error', 'not_found']
            : ['invalid_request_error', null];
  return { error: { message, type, param: null, code } };
}

function parseRequest(body: unknown): ParsedRequest {
  if (!isObject(body)) return bad('The request body must be a JSON object.');
  if (typeof body.model !== 'string' || body.model === '')
    return bad("Missing required parameter: 'model'.");
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return bad("Missing required parameter: 'messages'.");
  }
  const messages: RecordedMessage[] = [];
  for (const [i, message] of body.messages.entries()) {
    if (!isObject(message) || typeof message.role !== 'string') {
      return bad(`Invalid value for 'messages[${i}]': expected an object with a 'role'.`);
    }
    switch (message.role) {
      case 'system':
      case 'developer':
        messages.push({ role: 'system', text: textOf(message.content) });
        break;
      case 'user':
        messages.push({ role: 'user', text: textOf(message.content) });
        break;
      case 'assistant': {
        const toolCalls = Array.isArray(message.tool_calls)
          ? message.tool_calls.filter(isObject).map((call) => {
              const fn = isObject(call.function) ? call.function : {};
              return {
                id: String(call.id),
                name: String(fn.name),
                input: parseArguments(fn.arguments),
              };
            })
          : [];
        const text = textOf(message.content);
        messages.push({
          role: 'assistant',
          ...(text === '' ? {} : { text }),
          ...(toolCalls.length === 0 ? {} : { toolCalls }),
        });
        break;
      }
      case 'tool':
        if (typeof message.tool_call_id !== 'string') {
          return bad(`Missing required parameter: 'messages[${i}].tool_call_id'.`);
        }
        messages.push({
          role: 'tool',
          toolResult: { id: message.tool_call_id, content: textOf(message.content) },
        });
        break;
      default:
        return bad(
          `Invalid value: '${message.role}'. Supported values are: 'system', 'developer', 'user', 'assistant' and 'tool'.`,
        );
    }
  }
  const tools = Array.isArray(body.tools)
    ? body.tools.filter(isObject).map((tool) => {
        const fn = isObject(tool.function) ? tool.function : {};
        return {
          name: String(fn.name),
          ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
          inputSchema: fn.parameters,
        };
      })
    : [];
  return {
    ok: true,
    request: {
      api: 'openai-chat',
      model: body.model,
      messages,
      tools,
      stream: body.stream === true,
    },
  };
}

function* streamFrames(turn: PlannedTurn, request: RecordedRequest): Iterable<SseFrame> {
  const raw = request.raw as { stream_options?: { include_usage?: unknown } };
  const includeUsage = raw.stream_options?.include_usage === true;
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): SseFrame => ({
    data: JSON.stringify({
      id: `chatcmpl-${turn.key}`,
      object: 'chat.completion.chunk',
      created: turn.created,
      model: turn.model,
      system_fingerprint: 'fp_scripted',
      choices,
      ...(includeUsage ? { usage: null } : {}),
      ...extra,
    }),
  });
  const delta = (fields: Record<string, unknown>) =>
    chunk([{ index: 0, delta: fields, logprobs: null, finish_reason: null }]);

  // The first delta carries the role, as OpenAI's do.
  let role: { role?: 'assistant' } = { role: 'assistant' };
  for (const piece of turn.reasoning) {
    yield delta({ ...role, content: null, reasoning_content: piece });
    role = {};
  }
  if (turn.text.length > 0 && role.role !== undefined) {
    yield delta({ ...role, content: '', refusal: null });
    role = {};
  }
  for (const piece of turn.text) yield delta({ content: piece });
  for (const [index, call] of turn.toolCalls.entries()) {
    yield delta({
      ...role,
      ...(role.role === undefined ? {} : { content: null }),
      tool_calls: [
        {
          index,
          id: `call_${call.key}`,
          type: 'function',
          function: { name: call.name, arguments: '' },
        },
      ],
    });
    role = {};
    for (const fragment of call.fragments) {
      yield delta({ tool_calls: [{ index, function: { arguments: fragment } }] });
    }
  }
  yield chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReasonOf(turn) }]);
  // With `stream_options.include_usage`, usage comes in one more chunk with no choices.
  if (includeUsage) yield chunk([], { usage: usageOf(turn) });
  yield { data: '[DONE]' };
}

function responseBody(turn: PlannedTurn): unknown {
  const text = turn.text.join('');
  const reasoning = turn.reasoning.join('');
  return {
    id: `chatcmpl-${turn.key}`,
    object: 'chat.completion',
    created: turn.created,
    model: turn.model,
    system_fingerprint: 'fp_scripted',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: text === '' ? null : text,
          refusal: null,
          ...(reasoning === '' ? {} : { reasoning_content: reasoning }),
          ...(turn.toolCalls.length === 0
            ? {}
            : {
                tool_calls: turn.toolCalls.map((call) => ({
                  id: `call_${call.key}`,
                  type: 'function',
                  function: { name: call.name, arguments: call.arguments },
                })),
              }),
        },
        logprobs: null,
        finish_reason: finishReasonOf(turn),
      },
    ],
    usage: usageOf(turn),
  };
}

function finishReasonOf(turn: PlannedTurn): string {
  return turn.toolCalls.length > 0 ? 'tool_calls' : 'stop';
}

function usageOf(turn: PlannedTurn): unknown {
  const { inputTokens, outputTokens, reasoningTokens } = turn.usage;
  return {
    prompt_tokens: inputTokens,
    completion_tokens: outputTokens,
    total_tokens: inputTokens + outputTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: reasoningTokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/** Text of a string content or of an array of parts with `text` (`text`, `input_text`, `output_text`). */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter(isObject)
    .map((part) => (typeof part.text === 'string' ? part.text : ''))
    .join('');
}

/** Tool-call arguments as the model meant them: parsed JSON, or the string when it is not JSON. */
export function parseArguments(args: unknown): unknown {
  if (typeof args !== 'string') return args;
  try {
    return JSON.parse(args);
  } catch {
    return args;
  }
}

function bad(message: string): ParsedRequest {
  return { ok: false, message };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
