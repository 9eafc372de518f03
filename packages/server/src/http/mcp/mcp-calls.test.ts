import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { McpCalls } from './mcp-calls.ts';

describe('McpCalls', () => {
  it('cancels the call with that id in that session only', () => {
    const calls = new McpCalls();
    const a = calls.track('key1 s1', 1);
    const otherSession = calls.track('key1 s2', 1);
    const otherKey = calls.track('key2 s1', 1);
    const stringId = calls.track('key1 s1', '1');
    calls.cancel('key1 s1', 1, 'user');
    assert.equal(a.signal.aborted, true);
    assert.equal((a.signal.reason as Error).message, 'user');
    assert.equal(otherSession.signal.aborted, false);
    assert.equal(otherKey.signal.aborted, false);
    assert.equal(stringId.signal.aborted, false, 'the id "1" is not the id 1');
  });

  it('cancels every call of an ended session, and forgets calls once done', () => {
    const calls = new McpCalls();
    const first = calls.track('k s', 1);
    const second = calls.track('k s', 2);
    const twin = calls.track('k s', 2);
    const elsewhere = calls.track('k t', 1);
    assert.equal(calls.size, 4);
    calls.cancelSession('k s', 'session ended');
    assert.deepEqual(
      [first, second, twin, elsewhere].map((c) => c.signal.aborted),
      [true, true, true, false],
    );
    for (const call of [first, second, twin, elsewhere]) call.done();
    second.done();
    assert.equal(calls.size, 0);
    const late = calls.track('k s', 1);
    assert.equal(late.signal.aborted, false, 'a new call is not cancelled by an old cancel');
  });
});
