import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { failureMessage, parseDumpLog } from './checkpoint-failure.ts';

/** A real CRIU dump log from testdata/ (see testdata/README.md for how each was made). */
const log = (name: string) =>
  gunzipSync(
    readFileSync(join(import.meta.dirname, 'testdata', `criu-dump-${name}.log.gz`)),
  ).toString('utf8');

describe('reading a failed CRIU dump log', () => {
  it('names the Node.js process that held an io_uring, and says CRIU cannot dump one at all', () => {
    const f = parseDumpLog(log('io-uring'));
    assert.equal(f.hostPid, 19114);
    assert.equal(f.comm, 'node');
    assert.equal(f.permanent, true);
    assert.match(f.reason, /^holds an io_uring instance, which CRIU cannot checkpoint at all/);
    assert.ok(f.errors.includes('Unknown shit 600 (anon_inode:[io_uring])'));
    assert.ok(!f.errors.some((e) => e.includes('RLIMIT_NOFILE')), 'the harmless rlimit error');
  });

  it('names a traced process and what to do about it', () => {
    const f = parseDumpLog(log('ptrace'));
    assert.equal(f.hostPid, 3301);
    assert.equal(f.comm, 'sleep');
    assert.match(f.reason, /^is being traced \(ptrace/);
    assert.match(f.reason, /Detach the tracer and pause again$/);
  });

  it('gives the path and size of a deleted file above the ghost limit', () => {
    const f = parseDumpLog(log('ghost'));
    assert.equal(f.hostPid, 17008);
    assert.equal(f.comm, 'python3');
    assert.match(f.reason, /^keeps a deleted file open \(\/tmp\/#131082, 3 MiB\), larger than/);
  });

  it('explains memfd_secret memory and message queues', () => {
    const secret = parseDumpLog(log('secretmem'));
    assert.equal(secret.hostPid, 19525);
    assert.equal(secret.comm, 'python3');
    assert.match(secret.reason, /memfd_secret memory/);
    const mq = parseDumpLog(log('mq'));
    assert.equal(mq.hostPid, 16370);
    assert.equal(mq.comm, 'python3');
    assert.match(mq.reason, /^has \/q1 open \(fd 3\) on a file system CRIU cannot checkpoint/);
    const devmq = parseDumpLog(log('devmq'));
    assert.equal(devmq.hostPid, undefined, 'a mount of the sandbox, not a process');
    assert.equal(devmq.sandboxWide, true);
    assert.match(
      failureMessage(devmq),
      /^The sandbox has POSIX message queues in \/dev\/mqueue, .* The sandbox keeps running\.$/,
    );
  });

  it('builds a message with the in-sandbox pid and the command name', () => {
    const f = parseDumpLog(log('ptrace'));
    assert.equal(
      failureMessage(f, { hostPid: 3301, pid: 7, comm: 'sleep' }),
      `process 7 (sleep) ${f.reason}. The sandbox keeps running.`,
    );
    // A process outside the sandbox's pid namespace is named by its host pid.
    assert.match(failureMessage(f, { hostPid: 3301 }), /^process 3301 \(host pid\) is being/);
  });

  it("falls back to CRIU's first error for a cause it does not know", () => {
    const f = parseDumpLog(
      [
        "(00.010000) Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted",
        '(00.020000) SEIZE 41 (comm worker): success',
        '(00.030000) Error (criu/sk-foo.c:12): Unsupported foo socket state 7',
        '(00.030100) Error (criu/cr-dump.c:1545): Dump files (pid: 41) failed with -1',
        '(00.040000) Error (criu/cr-dump.c:1975): Dumping FAILED.',
      ].join('\n'),
    );
    assert.equal(f.hostPid, 41);
    assert.equal(f.comm, 'worker');
    assert.equal(f.permanent, false, 'an unknown cause may pass on a retry');
    assert.equal(f.reason, 'could not be checkpointed: Unsupported foo socket state 7');
  });
});
