import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { BuildProgress, parseBuildStep } from './build-progress.ts';

describe('build progress', () => {
  it('parses buildah STEP lines, with the stage of a multi-stage build', () => {
    assert.deepEqual(parseBuildStep('STEP 2/5: RUN apt-get install -y git'), {
      index: 2,
      count: 5,
      instruction: 'RUN apt-get install -y git',
    });
    assert.deepEqual(parseBuildStep('[1/2] STEP 3/4: COPY . /app'), {
      stage: { index: 1, count: 2 },
      index: 3,
      count: 4,
      instruction: 'COPY . /app',
    });
    assert.equal(parseBuildStep('Getting image source signatures'), undefined);
  });

  it('off a terminal: one plain line per step, then the end', async () => {
    const out = new PassThrough();
    const progress = new BuildProgress({ out, label: 'template t' });
    progress.start();
    for (const line of ['STEP 1/2: FROM debian-13', 'noise', '[2/2] STEP 1/1: RUN true']) {
      progress.log(line);
    }
    progress.done('ready');
    out.end();
    assert.equal(
      await text(out),
      'template t: waiting for the build to start\ntemplate t: step 1/2: FROM debian-13\n' +
        'template t: stage 2/2, step 1/1: RUN true\ntemplate t: ready\n',
    );
  });
});
