import { type ProgressResult, progress, type SpinnerResult, spinner } from '@clack/prompts';
import { truncate } from './event-renderer.ts';
import { type OutputStream, terminalStyle } from './terminal-style.ts';

/** A `STEP n/m: INSTRUCTION` line of a build log (buildah's), with its stage when there are several. */
export interface BuildStep {
  /** `[k/K]`: the stage of a multi-stage Dockerfile. */
  stage?: { index: number; count: number };
  index: number;
  count: number;
  instruction: string;
}

/** The step a build log line announces, if it announces one. */
export function parseBuildStep(line: string): BuildStep | undefined {
  const match = /^(?:\[(\d+)\/(\d+)\] )?STEP (\d+)\/(\d+): (.*)$/.exec(line.trim());
  if (!match) return undefined;
  const [, stage, stages, index, count, instruction] = match;
  return {
    ...(stage && stages ? { stage: { index: Number(stage), count: Number(stages) } } : {}),
    index: Number(index),
    count: Number(count),
    instruction: instruction ?? '',
  };
}

/**
 * Shows a template build as it goes. On a terminal: a spinner until the log announces its first
 * step, then a progress bar (per stage) labelled with the current step. Elsewhere (a pipe, CI):
 * one plain line per step, with no cursor movement or colour.
 */
export class BuildProgress {
  readonly #out: OutputStream;
  readonly #label: string;
  readonly #live: boolean;
  #spinner: SpinnerResult | undefined;
  #bar: ProgressResult | undefined;
  /** The stage and step the bar shows. */
  #stage = 0;
  #step = 0;
  #lastStep: BuildStep | undefined;

  constructor(options: { out: OutputStream; label: string; live?: boolean }) {
    this.#out = options.out;
    this.#label = options.label;
    this.#live = options.live ?? (options.out.isTTY === true && process.env.CI !== 'true');
  }

  /** The build started (or was queued) on the server. */
  start(message = 'waiting for the build to start'): void {
    if (!this.#live) {
      this.#out.write(`${this.#label}: ${message}\n`);
      return;
    }
    this.#spinner = spinner({ output: this.#out, withGuide: false, onCancel: interrupted });
    this.#spinner.start(`${this.#label}: ${message}`);
  }

  /** One line of the build log. */
  log(line: string): void {
    const step = parseBuildStep(line);
    if (step === undefined) return;
    this.#lastStep = step;
    const where = `${step.stage ? `stage ${step.stage.index}/${step.stage.count}, ` : ''}step ${step.index}/${step.count}`;
    const text = `${this.#label}: ${where}: ${step.instruction}`;
    if (!this.#live) {
      this.#out.write(`${truncate(text, 160)}\n`);
      return;
    }
    const width = Math.max(30, (this.#out.columns ?? 80) - 50);
    const message = truncate(`${where}: ${step.instruction}`, width);
    const stage = step.stage?.index ?? 1;
    if (this.#bar === undefined || stage !== this.#stage) {
      this.#spinner?.clear();
      this.#spinner = undefined;
      this.#bar?.stop(`${this.#label}: stage ${this.#stage} done`);
      this.#bar = progress({
        output: this.#out,
        withGuide: false,
        max: step.count,
        size: 30,
        onCancel: interrupted,
      });
      this.#bar.start(`${this.#label}: ${message}`);
      this.#stage = stage;
      this.#step = 0;
    }
    this.#bar.advance(Math.max(0, step.index - 1 - this.#step), `${this.#label}: ${message}`);
    this.#step = Math.max(this.#step, step.index - 1);
  }

  /** The build is ready: the bar fills and a final line says so. */
  done(message: string): void {
    const style = terminalStyle(this.#out);
    const text = `${this.#label}: ${message}`;
    if (!this.#live) {
      this.#out.write(`${text}\n`);
      return;
    }
    if (this.#bar && this.#lastStep) this.#bar.advance(this.#lastStep.count - this.#step);
    this.#stopAll(style.green(text));
  }

  /** The build failed (or could not be followed). */
  fail(message: string): void {
    const style = terminalStyle(this.#out);
    const text = `${this.#label}: ${message}`;
    if (!this.#live) {
      this.#out.write(`${text}\n`);
      return;
    }
    const spin = this.#bar ?? this.#spinner;
    this.#bar = undefined;
    this.#spinner = undefined;
    if (spin) spin.error(style.red(text));
    else this.#out.write(`${style.red(text)}\n`);
  }

  #stopAll(text: string): void {
    const spin = this.#bar ?? this.#spinner;
    this.#bar = undefined;
    this.#spinner = undefined;
    if (spin) spin.stop(text);
    else this.#out.write(`${text}\n`);
  }
}

/** Ctrl-C while a spinner owns SIGINT: leave as any interrupted command does (exit code 1). */
function interrupted(): void {
  process.exit(1);
}
