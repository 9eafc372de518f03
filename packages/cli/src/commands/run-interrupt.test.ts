import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '@runtools/sandbox/testing';
import { CliProcess } from '../testing/remote-cli-fixture.ts';

/**
 * A second Ctrl-C must not wait for anything. A real server answers a cancel at once, so this
 * stands in for one whose cancel never answers: a run that streams nothing and hangs.
 */
describe('runtools run: a second Ctrl-C exits at once', () => {
  const hanging = new Set<ServerResponse>();
  const cancels: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    if (req.method === 'POST' && req.url === '/v1/run/stuck') {
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ runId: 'run_stuck', status: 'queued' }));
    } else if (req.url?.startsWith('/v1/runs/run_stuck/events')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': waiting\n\n');
      hanging.add(res);
    } else if (req.method === 'POST' && req.url === '/v1/runs/run_stuck/cancel') {
      cancels.push(req.url);
      hanging.add(res);
    } else {
      res.writeHead(404).end();
    }
  });
  let url: string;

  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const res of hanging) res.destroy();
    await new Promise((r) => server.close(r));
  });

  it('the first asks the server to cancel; the second leaves without waiting (exit 1)', async () => {
    using cli = new CliProcess(['run', 'stuck', 'hi'], {
      env: { RUNTOOLS_SERVER: url, RUNTOOLS_API_KEY: 'stub-key-stub-key' },
    });
    await cli.waitForOutput(/run run_stuck/);
    cli.child.kill('SIGINT');
    await cli.waitForOutput(/Cancelling run run_stuck/);
    await waitFor(() => cancels.length > 0);
    assert.deepEqual(cancels, ['/v1/runs/run_stuck/cancel']);
    cli.child.kill('SIGINT');
    const result = await cli.exited;
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Exiting without waiting for the run to end/);
  });
});
