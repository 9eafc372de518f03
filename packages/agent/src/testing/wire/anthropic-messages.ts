import { createHash } from 'node:crypto';
import type {
  ParsedRequest,
  PlannedTurn,
  RecordedMessage,
  SseFrame,
  WireFormat,
} from '../test-model-server.ts';

/**
 * Anthropic Messages (`POST /v1/messages`): content blocks for thinking (with a signature the
 * client must send back), text and tool use, streamed as `message_start`,
 * `content_block_start/delta/stop`, `message_delta` and `message_stop` events.
 */
export const anthropicMessagesWire: WireFormat = {
  api: 'anthropic-messages',
  parseRequest,
  errorBody,
  streamFrames,
  responseBody,
};

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

function errorBody(status: number, message: string): unknown {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  return { type: 'error', error: { type, message } };
}

function parseRequest(body: unknown): ParsedRequest {
  if (!isObject(body)) return bad('The request body must be a JSON object.');
  if (typeof body.model !== 'string' || body.model === '') return bad('model: Field required');
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return bad('messages: Field required');
  if (typeof body.max_tokens !== 'number') return bad('max_tokens: Field required');

  const messages: RecordedMessage[] = [];
  const system = textOf(body.system);
  if (system !== '') messages.push({ role: 'system', text: system });
  for (const [i, message] of body.messages.entries()) {
    if (!isObject(message) || (message.role !== 'user' && message.role !== 'assistant')) {
      return bad(`messages.${i}.role: Input should be 'user' or 'assistant'`);
    }
    const blocks =
      typeof message.content === 'string'
        ? [{ type: 'text', text: message.content }]
        : message.content;
    if (!Array.isArray(blocks)) return bad(`messages.${i}.content: Field required`);
    if (message.role === 'assistant') {
      const text = textOf(blocks);
      const toolCalls = blocks
        .filter((block) => isObject(block) && block.type === 'tool_use')
        .map((block: Record<string, unknown>) => ({
          id: String(block.id),
          name: String(block.name),
          input: block.input,
        }));
      messages.push({
        role: 'assistant',
        ...(text === '' ? {} : { text }),
        ...(toolCalls.length === 0 ? {} : { toolCalls }),
      });
      continue;
    }
    // A user turn carries tool results as blocks; the common shape gives each its own message.
    for (const block of blocks) {
      if (isObject(block) && block.type === 'tool_result') {
        messages.push({
          role: 'tool',
          toolResult: { id: String(block.tool_use_id), content: textOf(block.content) },
        });
      }
    }
    const text = textOf(blocks);
    if (text !== '') messages.push({ role: 'user', text });
  }
  const tools = Array.isArray(body.tools)
    ? body.tools
        .filter(
          (tool) =>
            isObject(tool) && typeof tool.name === 'string' && tool.input_schema !== undefined,
        )
        .map((tool: Record<string, unknown>) => ({
          name: String(tool.name),
          ...(typeof tool.description === 'string' ? { description: tool.description } : {}),
          inputSchema: tool.input_schema,
        }))
    : [];
  return {
    ok: true,
    request: {
      api: 'anthropic-messages',
      model: body.model,
      messages,
      tools,
      stream: body.stream === true,
    },
  };
}

function* streamFrames(turn: PlannedTurn): Iterable<SseFrame> {
  const event = (type: string, fields: Record<string, unknown> = {}): SseFrame => ({
    event: type,
    data: JSON.stringify({ type, ...fields }),
  });
  const { content: _content, stop_reason: _stop, usage, ...message } = messageObject(turn);
  yield event('message_start', {
    message: {
      ...message,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...usage, output_tokens: 1 },
    },
  });
  yield event('ping');

  let index = 0;
  const delta = (fields: Record<string, unknown>) =>
    event('content_block_delta', { index, delta: fields });
  if (turn.reasoning.length > 0) {
    yield event('content_block_start', {
      index,
      content_block: { type: 'thinking', thinking: '', signature: '' },
    });
    for (const thinking of turn.reasoning) yield delta({ type: 'thinking_delta', thinking });
    yield delta({ type: 'signature_delta', signature: signatureOf(turn) });
    yield event('content_block_stop', { index: index++ });
  }
  if (turn.text.length > 0) {
    yield event('content_block_start', { index, content_block: { type: 'text', text: '' } });
    for (const text of turn.text) yield delta({ type: 'text_delta', text });
    yield event('content_block_stop', { index: index++ });
  }
  for (const call of turn.toolCalls) {
    yield event('content_block_start', {
      index,
      content_block: { type: 'tool_use', id: `toolu_${call.key}`, name: call.name, input: {} },
    });
    // Anthropic opens every tool input with an empty fragment.
    for (const partial of ['', ...call.fragments])
      yield delta({ type: 'input_json_delta', partial_json: partial });
    yield event('content_block_stop', { index: index++ });
  }
  yield event('message_delta', {
    delta: { stop_reason: stopReasonOf(turn), stop_sequence: null },
    usage: { output_tokens: turn.usage.outputTokens },
  });
  yield event('message_stop');
}

function responseBody(turn: PlannedTurn): unknown {
  return messageObject(turn);
}

function messageObject(turn: PlannedTurn) {
  const content: unknown[] = [];
  if (turn.reasoning.length > 0) {
    content.push({
      type: 'thinking',
      thinking: turn.reasoning.join(''),
      signature: signatureOf(turn),
    });
  }
  if (turn.text.length > 0) content.push({ type: 'text', text: turn.text.join('') });
  for (const call of turn.toolCalls) {
    content.push({
      type: 'tool_use',
      id: `toolu_${call.key}`,
      name: call.name,
      input: call.input ?? {},
    });
  }
  return {
    id: `msg_${turn.key}`,
    type: 'message',
    role: 'assistant',
    model: turn.model,
    content,
    stop_reason: stopReasonOf(turn),
    stop_sequence: null,
    usage: {
      input_tokens: turn.usage.inputTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: turn.usage.outputTokens,
      service_tier: 'standard',
    },
  };
}

function stopReasonOf(turn: PlannedTurn): string {
  return turn.toolCalls.length > 0 ? 'tool_use' : 'end_turn';
}

/** Opaque like Anthropic's, and stable for the thinking text it signs. */
function signatureOf(turn: PlannedTurn): string {
  return createHash('sha256')
    .update(`${turn.key}:${turn.reasoning.join('')}`)
    .digest('base64');
}

/** Text of a string, or of the `text` blocks of a content array. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((block) => isObject(block) && block.type === 'text' && typeof block.text === 'string')
    .map((block: Record<string, unknown>) => block.text)
    .join('');
}

function bad(message: string): ParsedRequest {
  return { ok: false, message };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
