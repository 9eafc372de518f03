/**
 * What a build's log lines say about its progress, so a client can show a progress bar and name
 * the step a failed build stopped at. A spec build says how many steps it runs
 * (`==> runtools plan: 4 steps`), then starts each with `==> runtools step: <name>`; work before
 * the plan (building an OS base the first time) is marked as steps too, outside the count. A
 * Dockerfile build's steps are buildah's `STEP <i>/<n>: <instruction>` lines (with a
 * `[<stage>/<stages>] ` prefix in a multi-stage build: `i/n` then count that stage's steps).
 */

/** Starts a log line that begins a build step; the step's name follows. */
export const templateBuildStepMark = '==> runtools step: ';

/** Starts the log line that says how many steps a spec build runs: `==> runtools plan: 4 steps`. */
export const templateBuildPlanMark = '==> runtools plan: ';

/** The plan line of a build of `steps` steps. */
export function templateBuildPlanLine(steps: number): string {
  return `${templateBuildPlanMark}${steps} step${steps === 1 ? '' : 's'}`;
}

export interface TemplateBuildProgress {
  /** The steps started so far, the current one included (counted from the plan on). */
  started: number;
  /** How many steps the build runs; null until the builder has said. */
  total: number | null;
  /** The current step's name; of a build that failed, the step it failed at. */
  step: string | null;
  /** Index (among the lines given) of the line that started the current step; -1 before any. */
  stepLine: number;
}

export const initialTemplateBuildProgress: TemplateBuildProgress = {
  started: 0,
  total: null,
  step: null,
  stepLine: -1,
};

const buildahStep = /^(?:\[\d+\/\d+\] )?STEP (\d+)\/(\d+): (.*)$/;

/**
 * The progress after one more log line (`index`: its position among the lines given).
 *
 * @example
 * let progress = initialTemplateBuildProgress;
 * lines.forEach((line, i) => { progress = advanceTemplateBuildProgress(progress, line, i); });
 * templateBuildFraction(progress); // 0.5: the second of four steps runs
 */
export function advanceTemplateBuildProgress(
  progress: TemplateBuildProgress,
  line: string,
  index: number,
): TemplateBuildProgress {
  if (line.startsWith(templateBuildPlanMark)) {
    const total = Number.parseInt(line.slice(templateBuildPlanMark.length), 10);
    return Number.isInteger(total) && total > 0 ? { ...progress, started: 0, total } : progress;
  }
  if (line.startsWith(templateBuildStepMark)) {
    return {
      started: progress.total === null ? 0 : Math.min(progress.started + 1, progress.total),
      total: progress.total,
      step: line.slice(templateBuildStepMark.length),
      stepLine: index,
    };
  }
  const buildah = buildahStep.exec(line);
  if (buildah !== null) {
    return {
      started: Number(buildah[1]),
      total: Number(buildah[2]),
      step: buildah[3] as string,
      stepLine: index,
    };
  }
  return progress;
}

/** The progress of a whole log. */
export function templateBuildProgressOf(lines: readonly string[]): TemplateBuildProgress {
  return lines.reduce(advanceTemplateBuildProgress, initialTemplateBuildProgress);
}

/**
 * The share of the build done, 0 to 1, counting the current step as not done; null while the
 * number of steps is unknown.
 */
export function templateBuildFraction(progress: TemplateBuildProgress): number | null {
  if (progress.total === null) return null;
  return Math.max(0, Math.min(1, (progress.started - 1) / progress.total));
}
