import type {
  ParsedRequest,
  PlannedTurn,
  RecordedMessage,
  RecordedRequest,
  SseFrame,
  WireFormat,
} from '../test-model-server.ts';
import { isObject, openaiErrorBody, parseArguments, textOf } from './openai-chat.ts';

type OutputItem = Record<string, unknown> & { id: string; type: string };

/**
 * The OpenAI Responses API (`POST /v1/responses`). Stateful like OpenAI's: output items are
 * stored by id, because with `store` (the default) the AI SDK sends earlier assistant text and
 * reasoning back as `{ type: 'item_reference', id }`. Reasoning goes out as a reasoning item
 * with a summary, the only reasoning text the Responses API shows.
 */
export function createOpenAIResponsesWire(): WireFormat {
  const stored = new Map<string, OutputItem>();
  return {
    api: 'openai-responses',
    parseRequest: (body) => parseRequest(body, stored),
    errorBody: openaiErrorBody,
    streamFrames: (turn, request) => streamFrames(turn, request, stored),
    responseBody: (turn, request) => {
      const output = outputItems(turn);
      store(stored, request, output);
      return responseObject(turn, request, 'completed', output);
    },
  };
}

function parseRequest(body: unknown, stored: Map<string, OutputItem>): ParsedRequest {
  if (!isObject(body)) return bad('The request body must be a JSON object.');
  if (typeof body.model !== 'string' || body.model === '')
    return bad("Missing required parameter: 'model'.");
  const input =
    typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : body.input;
  if (!Array.isArray(input) || input.length === 0)
    return bad("Missing required parameter: 'input'.");

  const messages: RecordedMessage[] = [];
  if (typeof body.instructions === 'string')
    messages.push({ role: 'system', text: body.instructions });
  for (const [i, entry] of input.entries()) {
    let item: unknown = entry;
    if (isObject(item) && item.type === 'item_reference') {
      item = stored.get(String(item.id));
      if (item === undefined)
        return bad(`Item with id '${String((entry as { id: unknown }).id)}' not found.`);
    }
    if (!isObject(item)) return bad(`Invalid value for 'input[${i}]': expected an object.`);
    const type = item.type ?? 'message';
    if (type === 'message') {
      const role = item.role === 'developer' ? 'system' : item.role;
      if (role !== 'system' && role !== 'user' && role !== 'assistant') {
        return bad(`Invalid value for 'input[${i}].role': '${String(item.role)}'.`);
      }
      messages.push({ role, text: textOf(item.content) });
    } else if (type === 'function_call') {
      const call = {
        id: String(item.call_id),
        name: String(item.name),
        input: parseArguments(item.arguments),
      };
      // Function calls follow the assistant text of the same turn as separate items.
      const last = messages.at(-1);
      if (last?.role === 'assistant') last.toolCalls = [...(last.toolCalls ?? []), call];
      else messages.push({ role: 'assistant', toolCalls: [call] });
    } else if (type === 'function_call_output') {
      messages.push({
        role: 'tool',
        toolResult: { id: String(item.call_id), content: textOf(item.output) },
      });
    }
    // Reasoning items and hosted-tool items carry nothing the common shape records.
  }
  const tools = Array.isArray(body.tools)
    ? body.tools
        .filter((tool) => isObject(tool) && tool.type === 'function')
        .map((tool: Record<string, unknown>) => ({
          name: String(tool.name),
          ...(typeof tool.description === 'string' ? { description: tool.description } : {}),
          inputSchema: tool.parameters,
        }))
    : [];
  return {
    ok: true,
    request: {
      api: 'openai-responses',
      model: body.model,
      messages,
      tools,
      stream: body.stream === true,
    },
  };
}

function* streamFrames(
  turn: PlannedTurn,
  request: RecordedRequest,
  stored: Map<string, OutputItem>,
): Iterable<SseFrame> {
  let sequence = 0;
  const event = (type: string, fields: Record<string, unknown>): SseFrame => ({
    event: type,
    data: JSON.stringify({ type, sequence_number: sequence++, ...fields }),
  });

  yield event('response.created', { response: responseObject(turn, request, 'in_progress', []) });
  yield event('response.in_progress', {
    response: responseObject(turn, request, 'in_progress', []),
  });
  const output = outputItems(turn);
  for (const [outputIndex, item] of output.entries()) {
    const at = { item_id: item.id, output_index: outputIndex };
    if (item.type === 'reasoning') {
      const text = turn.reasoning.join('');
      const part = (t: string) => ({ type: 'summary_text', text: t });
      yield event('response.output_item.added', {
        output_index: outputIndex,
        item: { ...item, summary: [] },
      });
      yield event('response.reasoning_summary_part.added', {
        ...at,
        summary_index: 0,
        part: part(''),
      });
      for (const delta of turn.reasoning) {
        yield event('response.reasoning_summary_text.delta', { ...at, summary_index: 0, delta });
      }
      yield event('response.reasoning_summary_text.done', { ...at, summary_index: 0, text });
      yield event('response.reasoning_summary_part.done', {
        ...at,
        summary_index: 0,
        part: part(text),
      });
    } else if (item.type === 'message') {
      const text = turn.text.join('');
      const part = (t: string) => ({ type: 'output_text', text: t, annotations: [] });
      yield event('response.output_item.added', {
        output_index: outputIndex,
        item: { ...item, status: 'in_progress', content: [] },
      });
      yield event('response.content_part.added', { ...at, content_index: 0, part: part('') });
      for (const delta of turn.text) {
        yield event('response.output_text.delta', { ...at, content_index: 0, delta, logprobs: [] });
      }
      yield event('response.output_text.done', { ...at, content_index: 0, text, logprobs: [] });
      yield event('response.content_part.done', { ...at, content_index: 0, part: part(text) });
    } else {
      const call = turn.toolCalls.find((c) => `fc_${c.key}` === item.id);
      yield event('response.output_item.added', {
        output_index: outputIndex,
        item: { ...item, status: 'in_progress', arguments: '' },
      });
      for (const delta of call?.fragments ?? []) {
        yield event('response.function_call_arguments.delta', { ...at, delta });
      }
      yield event('response.function_call_arguments.done', { ...at, arguments: item.arguments });
    }
    yield event('response.output_item.done', { output_index: outputIndex, item });
  }
  store(stored, request, output);
  yield event('response.completed', {
    response: responseObject(turn, request, 'completed', output),
  });
}

/** The finished output items of a turn: reasoning, then the message, then function calls. */
function outputItems(turn: PlannedTurn): OutputItem[] {
  const items: OutputItem[] = [];
  if (turn.reasoning.length > 0) {
    items.push({
      id: `rs_${turn.key}`,
      type: 'reasoning',
      summary: [{ type: 'summary_text', text: turn.reasoning.join('') }],
    });
  }
  if (turn.text.length > 0) {
    items.push({
      id: `msg_${turn.key}`,
      type: 'message',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: turn.text.join(''), annotations: [], logprobs: [] }],
    });
  }
  for (const call of turn.toolCalls) {
    items.push({
      id: `fc_${call.key}`,
      type: 'function_call',
      status: 'completed',
      call_id: `call_${call.key}`,
      name: call.name,
      arguments: call.arguments,
    });
  }
  return items;
}

function responseObject(
  turn: PlannedTurn,
  request: RecordedRequest,
  status: 'in_progress' | 'completed',
  output: OutputItem[],
): unknown {
  const raw = request.raw as Record<string, unknown>;
  const { inputTokens, outputTokens, reasoningTokens } = turn.usage;
  return {
    id: `resp_${turn.key}`,
    object: 'response',
    created_at: turn.created,
    status,
    error: null,
    incomplete_details: null,
    instructions: raw.instructions ?? null,
    model: turn.model,
    output,
    parallel_tool_calls: true,
    tool_choice: raw.tool_choice ?? 'auto',
    tools: raw.tools ?? [],
    store: raw.store !== false,
    usage:
      status === 'completed'
        ? {
            input_tokens: inputTokens,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: outputTokens,
            output_tokens_details: { reasoning_tokens: reasoningTokens },
            total_tokens: inputTokens + outputTokens,
          }
        : null,
  };
}

/** Keeps output items for later `item_reference`s, unless the request opted out with `store: false`. */
function store(
  stored: Map<string, OutputItem>,
  request: RecordedRequest,
  output: OutputItem[],
): void {
  if ((request.raw as { store?: unknown }).store === false) return;
  for (const item of output) stored.set(item.id, item);
}

function bad(message: string): ParsedRequest {
  return { ok: false, message };
}
