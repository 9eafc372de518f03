import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { waitFor } from '@runtools/sandbox/testing';
import {
  APICallError,
  generateText,
  isStepCount,
  type LanguageModel,
  type ModelMessage,
  streamText,
  type TextStreamPart,
  type ToolSet,
  tool,
} from 'ai';
import { z } from 'zod';
import { type RecordedRequest, type ScriptedTurn, TestModelServer } from './test-model-server.ts';

const API_KEY = 'test-key';

interface ProviderCase {
  name: string;
  api: RecordedRequest['api'];
  model: (baseURL: string, apiKey?: string) => LanguageModel;
  /** Whether the provider turns the wire's reasoning into reasoning parts. */
  reasoning: boolean;
  /** Wire details of the request that follows a tool call, beyond the common shape. */
  checkFollowUp?: (raw: unknown) => void;
}

const providerCases: ProviderCase[] = [
  {
    name: 'OpenAI Chat Completions',
    api: 'openai-chat',
    model: (baseURL, apiKey = API_KEY) => createOpenAI({ baseURL, apiKey }).chat('gpt-4o'),
    // OpenAI's chat API streams no reasoning, and its provider reads none.
    reasoning: false,
  },
  {
    name: 'OpenAI Responses',
    api: 'openai-responses',
    model: (baseURL, apiKey = API_KEY) => createOpenAI({ baseURL, apiKey }).responses('gpt-4o'),
    reasoning: true,
    // With `store` on, the SDK refers to earlier output items by id; the server resolves them.
    checkFollowUp: (raw) => {
      const input = (raw as { input: Array<{ type?: string }> }).input;
      assert.equal(input.filter((item) => item.type === 'item_reference').length, 2);
    },
  },
  {
    name: 'Anthropic Messages',
    api: 'anthropic-messages',
    model: (baseURL, apiKey = API_KEY) => createAnthropic({ baseURL, apiKey })('claude-sonnet-4-5'),
    reasoning: true,
    // The thinking block goes back with the signature the server streamed.
    checkFollowUp: (raw) => {
      const messages = (raw as { messages: Array<{ role: string; content: unknown }> }).messages;
      const [thinking] = (messages[1]?.content ?? []) as Array<{
        type: string;
        signature?: string;
      }>;
      assert.equal(thinking?.type, 'thinking');
      assert.ok((thinking?.signature ?? '').length > 20);
    },
  },
  {
    name: 'OpenAI-compatible custom endpoint',
    api: 'openai-chat',
    model: (baseURL, apiKey = API_KEY) =>
      createOpenAICompatible({ name: 'custom', baseURL, apiKey, includeUsage: true })(
        'llama-3.3-70b',
      ),
    reasoning: true,
  },
];

const weatherInput = { city: 'Paris', unit: 'celsius' as const, days: [1, 2] };

const weatherSchema = z.object({
  city: z.string(),
  unit: z.enum(['celsius', 'fahrenheit']),
  days: z.array(z.number()),
});

function weatherTools() {
  return {
    get_weather: tool({
      description: 'Current weather for a city',
      inputSchema: weatherSchema,
      execute: async ({ city }) => ({ city, temperature: 21 }),
    }),
  };
}

function weatherScript(): ScriptedTurn[] {
  return [
    {
      reasoning: 'The user wants the weather, so I should call the weather tool.',
      text: 'Let me look that up.',
      toolCalls: [{ name: 'get_weather', input: weatherInput }],
    },
    { text: 'It is 21 degrees in Paris today.' },
  ];
}

async function collect<T extends ToolSet>(stream: AsyncIterable<TextStreamPart<T>>) {
  const parts: TextStreamPart<T>[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

function ofType<P extends { type: string }, K extends P['type']>(parts: P[], type: K) {
  return parts.filter((part): part is Extract<P, { type: K }> => part.type === type);
}

for (const provider of providerCases) {
  describe(`TestModelServer with ${provider.name}`, () => {
    it('streams a tool call in fragments, runs the tool, then streams the final answer', async () => {
      await using server = await TestModelServer.start({
        apiKey: API_KEY,
        script: weatherScript(),
      });
      const result = streamText({
        model: provider.model(server.baseURL),
        instructions: 'You answer weather questions.',
        prompt: 'What is the weather in Paris?',
        tools: weatherTools(),
        stopWhen: isStepCount(5),
      });
      const parts = await collect(result.stream);

      const [call, ...otherCalls] = ofType(parts, 'tool-call');
      assert.ok(call);
      assert.equal(otherCalls.length, 0);
      assert.equal(call.toolName, 'get_weather');
      assert.deepEqual(call.input, weatherInput);
      assert.ok(
        ofType(parts, 'tool-input-delta').length >= 2,
        'tool input arrives in several fragments',
      );

      const [toolResult] = ofType(parts, 'tool-result');
      assert.equal(toolResult?.toolCallId, call.toolCallId);
      assert.deepEqual(toolResult?.output, { city: 'Paris', temperature: 21 });

      const textDeltas = ofType(parts, 'text-delta');
      assert.ok(textDeltas.length >= 6, 'text arrives in several deltas');
      assert.equal(
        textDeltas.map((part) => part.text).join(''),
        'Let me look that up.It is 21 degrees in Paris today.',
      );
      // `text` is the final step's; the parts carry every step's.
      assert.equal(await result.text, 'It is 21 degrees in Paris today.');

      if (provider.reasoning) {
        const reasoning = ofType(parts, 'reasoning-delta');
        assert.ok(reasoning.length >= 3, 'reasoning arrives in several deltas');
        assert.equal(
          reasoning.map((part) => part.text).join(''),
          'The user wants the weather, so I should call the weather tool.',
        );
      }

      const steps = ofType(parts, 'finish-step');
      assert.deepEqual(
        steps.map((step) => step.finishReason),
        ['tool-calls', 'stop'],
      );
      for (const step of steps) {
        assert.ok((step.usage.inputTokens ?? 0) > 0, 'input tokens reported');
        assert.ok((step.usage.outputTokens ?? 0) > 0, 'output tokens reported');
      }
      const [finish] = ofType(parts, 'finish');
      assert.equal(
        finish?.totalUsage.outputTokens,
        steps.reduce((n, step) => n + (step.usage.outputTokens ?? 0), 0),
      );

      assert.equal(server.requests.length, 2);
      const [first, second] = server.requests;
      assert.equal(first?.api, provider.api);
      assert.equal(first?.stream, true);
      assert.deepEqual(first?.messages, [
        { role: 'system', text: 'You answer weather questions.' },
        { role: 'user', text: 'What is the weather in Paris?' },
      ]);
      assert.equal(first?.tools[0]?.name, 'get_weather');
      assert.equal(first?.tools[0]?.description, 'Current weather for a city');
      assert.deepEqual(
        Object.keys(
          (first?.tools[0]?.inputSchema as { properties: object } | undefined)?.properties ?? {},
        ),
        ['city', 'unit', 'days'],
      );
      const assistant = second?.messages.find((m) => m.role === 'assistant');
      assert.equal(assistant?.text, 'Let me look that up.');
      assert.deepEqual(assistant?.toolCalls, [
        { id: call.toolCallId, name: 'get_weather', input: weatherInput },
      ]);
      const toolMessage = second?.messages.find((m) => m.role === 'tool');
      assert.equal(toolMessage?.toolResult?.id, call.toolCallId);
      assert.deepEqual(JSON.parse(toolMessage?.toolResult?.content ?? ''), {
        city: 'Paris',
        temperature: 21,
      });
      provider.checkFollowUp?.(second?.raw);
    });

    it('answers without streaming, and takes the tool result back in a second call', async () => {
      await using server = await TestModelServer.start({
        apiKey: API_KEY,
        script: weatherScript(),
      });
      const model = provider.model(server.baseURL);
      // No `execute`: the SDK stops after the tool call and the test sends the result itself.
      const tools = {
        get_weather: tool({
          description: 'Current weather for a city',
          inputSchema: weatherSchema,
        }),
      };
      const messages: ModelMessage[] = [{ role: 'user', content: 'What is the weather in Paris?' }];

      const first = await generateText({ model, messages, tools });
      const [call] = first.toolCalls;
      assert.equal(call?.toolName, 'get_weather');
      assert.deepEqual(call?.input, weatherInput);
      assert.equal(first.finishReason, 'tool-calls');
      assert.ok((first.usage.inputTokens ?? 0) > 0 && (first.usage.outputTokens ?? 0) > 0);
      if (provider.reasoning) {
        assert.equal(
          first.finalStep.reasoningText,
          'The user wants the weather, so I should call the weather tool.',
        );
      }

      messages.push(...first.responseMessages, {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: call?.toolCallId ?? '',
            toolName: 'get_weather',
            output: { type: 'text', value: 'Sunny, 21 degrees' },
          },
        ],
      });
      const second = await generateText({ model, messages, tools });
      assert.equal(second.text, 'It is 21 degrees in Paris today.');
      assert.equal(second.finishReason, 'stop');

      assert.equal(server.requests[1]?.stream, false);
      const toolMessage = server.requests[1]?.messages.find((m) => m.role === 'tool');
      assert.deepEqual(toolMessage?.toolResult, {
        id: call?.toolCallId,
        content: 'Sunny, 21 degrees',
      });
    });

    it('answers a wrong API key with 401 in the provider error shape', async () => {
      await using server = await TestModelServer.start({
        apiKey: API_KEY,
        script: weatherScript(),
      });
      await assert.rejects(
        generateText({
          model: provider.model(server.baseURL, 'wrong-key'),
          prompt: 'Hi',
          maxRetries: 0,
        }),
        (error: unknown) => {
          assert.ok(APICallError.isInstance(error), String(error));
          assert.equal(error.statusCode, 401);
          assert.match(error.message, /key/i);
          return true;
        },
      );
      assert.equal(server.requests.length, 0);
    });

    it('surfaces a scripted HTTP error as an APICallError', async () => {
      await using server = await TestModelServer.start({
        apiKey: API_KEY,
        script: [{ error: { status: 429, message: 'Slow down, scripted.' } }],
      });
      const result = streamText({
        model: provider.model(server.baseURL),
        prompt: 'Hi',
        maxRetries: 0,
        onError: () => {}, // the default handler logs the error
      });
      const errors = ofType(await collect(result.stream), 'error');
      const [error] = errors;
      assert.ok(APICallError.isInstance(error?.error), String(error?.error));
      assert.equal(error.error.statusCode, 429);
      assert.equal(error.error.message, 'Slow down, scripted.');
      assert.equal(error.error.isRetryable, true);
    });
  });
}

describe('TestModelServer', () => {
  it('survives a client that aborts mid-stream, and keeps answering', async () => {
    await using server = await TestModelServer.start({
      // A second between deltas: the client aborts at the second one, long before the answer ends.
      script: [{ text: 'one two three four five six seven eight nine ten', delayMs: 1000 }],
    });
    const model = createOpenAI({ baseURL: server.baseURL, apiKey: 'any' }).chat('gpt-4o');
    const controller = new AbortController();
    const result = streamText({ model, prompt: 'Count', abortSignal: controller.signal });
    const received: string[] = [];
    const kinds: string[] = [];
    for await (const part of result.stream) {
      kinds.push(part.type);
      if (part.type === 'text-delta') {
        received.push(part.text);
        if (received.length === 2) controller.abort();
      }
    }
    assert.ok(received.length < 10, `stream stopped early, got ${received.length} deltas`);
    await waitFor(() => server.answersCut === 1);
    assert.ok(kinds.includes('abort'), `an abort part arrives: ${kinds.join(',')}`);
    assert.ok(!kinds.includes('error'), `no error part: ${kinds.join(',')}`);

    const next = await generateText({ model, prompt: 'Again' });
    assert.equal(next.text, '(script exhausted)');
    assert.equal(server.requests.length, 2);
  });

  it('closes promptly while a slow answer is still streaming', async () => {
    const server = await TestModelServer.start({
      script: [{ text: 'slow answer coming', delayMs: 600_000 }],
    });
    const model = createOpenAI({ baseURL: server.baseURL, apiKey: 'any' }).chat('gpt-4o');
    const result = streamText({ model, prompt: 'Hi', maxRetries: 0, onError: () => {} });
    const consumed = collect(result.stream);
    await waitFor(() => server.requests.length > 0);
    // The answer would take 10 minutes: close() resolving at all (well inside the test's own
    // timeout) shows that it cuts the answer rather than waiting for it.
    await server.close();
    const parts = await consumed;
    assert.ok(ofType(parts, 'error').length > 0, 'the client sees the connection end');
  });

  it('answers with "(script exhausted)" when the script has run out', async () => {
    await using server = await TestModelServer.start();
    const model = createAnthropic({ baseURL: server.baseURL, apiKey: 'any' })('claude-sonnet-4-5');
    const result = streamText({ model, prompt: 'Hello' });
    assert.equal(await result.text, '(script exhausted)');
  });

  it('computes turns from the request with respond(), and takes more turns with push()', async () => {
    await using server = await TestModelServer.start({
      respond: (request) => {
        const last = request.messages.at(-1);
        return last?.role === 'tool'
          ? { text: `The tool said: ${last.toolResult?.content}` }
          : { toolCalls: [{ name: 'get_weather', input: weatherInput }] };
      },
    });
    const result = await generateText({
      model: createOpenAI({ baseURL: server.baseURL, apiKey: 'any' }).responses('gpt-4o'),
      prompt: 'Weather?',
      tools: weatherTools(),
      stopWhen: isStepCount(3),
    });
    assert.equal(result.text, 'The tool said: {"city":"Paris","temperature":21}');

    await using scripted = await TestModelServer.start();
    scripted.push({ text: 'pushed turn' });
    const pushed = await generateText({
      model: createOpenAI({ baseURL: scripted.baseURL, apiKey: 'any' }).chat('gpt-4o'),
      prompt: 'Hi',
    });
    assert.equal(pushed.text, 'pushed turn');
  });

  it('answers bad requests with 400 in the provider error shape', async () => {
    await using server = await TestModelServer.start();
    const post = async (path: string, body: string) => {
      const response = await fetch(`${server.baseURL}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };

    const invalidJson = await post('/chat/completions', '{"model":');
    assert.equal(invalidJson.status, 400);
    assert.equal((invalidJson.body.error as { type: string }).type, 'invalid_request_error');

    const noMessages = await post('/chat/completions', JSON.stringify({ model: 'gpt-4o' }));
    assert.equal(noMessages.status, 400);
    assert.match((noMessages.body.error as { message: string }).message, /messages/);

    const noModel = await post('/responses', JSON.stringify({ input: 'Hi' }));
    assert.equal(noModel.status, 400);
    assert.match((noModel.body.error as { message: string }).message, /model/);

    const anthropic = await post(
      '/messages',
      JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 10 }),
    );
    assert.equal(anthropic.status, 400);
    assert.equal(anthropic.body.type, 'error');
    assert.deepEqual(anthropic.body.error, {
      type: 'invalid_request_error',
      message: 'messages: Field required',
    });

    assert.equal(server.requests.length, 0);
  });

  it('lists models in the OpenAI or the Anthropic shape', async () => {
    await using server = await TestModelServer.start({ apiKey: API_KEY });
    const openai = await fetch(`${server.baseURL}/models`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    const openaiBody = (await openai.json()) as {
      object: string;
      data: Array<{ id: string; object: string }>;
    };
    assert.equal(openaiBody.object, 'list');
    assert.ok(openaiBody.data.some((model) => model.id === 'gpt-4o' && model.object === 'model'));

    const anthropic = await fetch(`${server.baseURL}/models`, {
      headers: { 'x-api-key': API_KEY, 'anthropic-version': '2023-06-01' },
    });
    const anthropicBody = (await anthropic.json()) as { data: Array<{ id: string; type: string }> };
    assert.ok(
      anthropicBody.data.some(
        (model) => model.id === 'claude-sonnet-4-5' && model.type === 'model',
      ),
    );

    const unauthorised = await fetch(`${server.baseURL}/models`);
    assert.equal(unauthorised.status, 401);
  });
});
