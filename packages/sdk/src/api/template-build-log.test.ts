import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  templateBuildFraction,
  templateBuildPlanLine,
  templateBuildProgressOf,
  templateBuildStepMark,
} from './template-build-log.ts';

const step = (name: string) => `${templateBuildStepMark}${name}`;

describe('the progress of a template build, from its log', () => {
  it('counts the steps of a spec build against its plan', () => {
    const lines = [
      step('base: build the debian-13 base'),
      'I: downloading',
      templateBuildPlanLine(4),
      step('copy the debian-13 base (debian-13-0123)'),
      step('shift owners to the sandbox uid range'),
      step('apt: install jq'),
      'Setting up jq (1.7.1-3) ...',
    ];
    const progress = templateBuildProgressOf(lines);
    assert.deepEqual(progress, { started: 3, total: 4, step: 'apt: install jq', stepLine: 5 });
    assert.equal(templateBuildFraction(progress), 0.5);
  });

  it('is unknown before the plan, however many steps ran', () => {
    const progress = templateBuildProgressOf([step('base: build the debian-13 base')]);
    assert.equal(progress.step, 'base: build the debian-13 base');
    assert.equal(templateBuildFraction(progress), null);
    assert.equal(templateBuildPlanLine(1), '==> runtools plan: 1 step');
  });

  it("reads buildah's STEP lines of a Dockerfile build, with or without a stage prefix", () => {
    const single = templateBuildProgressOf(['STEP 1/3: FROM base', 'STEP 2/3: RUN make', 'cc …']);
    assert.deepEqual(single, { started: 2, total: 3, step: 'RUN make', stepLine: 1 });
    const staged = templateBuildProgressOf(['[2/2] STEP 1/2: FROM debian-13']);
    assert.equal(staged.step, 'FROM debian-13');
    assert.equal(templateBuildFraction(staged), 0);
  });

  it('ignores a plan line without a count', () => {
    const progress = templateBuildProgressOf(['==> runtools plan: soon', step('a')]);
    assert.equal(progress.total, null);
  });
});
