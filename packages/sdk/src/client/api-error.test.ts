import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorResponseSchema } from '../api/error-codes.ts';
import { errorBody, RunToolsApiError } from './api-error.ts';

describe('errorBody', () => {
  const bodies: unknown[] = [
    { error: { code: 'run_not_found', message: 'No run run_1.' } },
    { error: { code: 'x', message: 'y', details: { field: 'limit', n: 1 } } },
    { error: { code: 'x', message: 'y', details: {} }, extra: true },
    { error: { code: 'x', message: 'y', extra: 1 } },
    { error: { code: 'x', message: 'y', details: [1, 2] } },
    { error: { code: 'x', message: 'y', details: null } },
    { error: { code: 'x', message: 'y', details: 'text' } },
    { error: { code: 1, message: 'y' } },
    { error: { code: 'x' } },
    { error: { message: 'y' } },
    { error: 'boom' },
    { error: null },
    { error: [] },
    {},
    [],
    null,
    'Bad Gateway',
    42,
    undefined,
  ];

  it('accepts exactly the bodies the contract’s schema accepts, with the same result', () => {
    for (const body of bodies) {
      const parsed = errorResponseSchema.safeParse(body);
      assert.deepEqual(
        errorBody(body),
        parsed.success ? parsed.data.error : undefined,
        JSON.stringify(body),
      );
    }
  });

  it('turns a body outside the shape into invalid_response with the status', async () => {
    const error = await RunToolsApiError.fromResponse(
      new Response('<h1>502</h1>', { status: 502 }),
    );
    assert.equal(error.code, 'invalid_response');
    assert.equal(error.status, 502);
    assert.match(error.message, /502/);
  });
});
