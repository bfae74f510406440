import { DockerUnreachableError, type StreamedRun } from "../docker/cli";
import type { PlannedStep } from "./stepKeys";
import { EXIT_NO_GO, markerLine, readMarker } from "./stepDriver";

/**
 * The commit chain of one build container (see plan/stepDriver.ts for the driver inside it): the driver's
 * lines come in, each step's marker queues its commit behind the previous one, each commit lets the
 * driver go on, and the container's exit decides the outcome. Docker, the driver's input, the clock and
 * the log are behind BatchEffects (steps.ts binds them to a real container), so every branch here can be
 * driven by a script.
 */

export class StepFailedError extends Error {
  constructor(
    readonly image: string,
    readonly step: number,
    readonly total: number,
    readonly command: string,
    readonly exitCode: number | null,
    readonly lastLines: string[],
  ) {
    super(
      `image ${image}: build step ${step}/${total} failed with exit code ${exitCode}\n` +
        `  command: ${command}\n` +
        `  last ${lastLines.length} log lines:\n${lastLines.map((l) => `    | ${l}`).join("\n")}\n` +
        `Fix the step in images/${image}.ts and build again; ${cachedBefore(step)}.`,
    );
    this.name = "StepFailedError";
  }
}

/** What the next build starts from when step `step` (1-based) did not finish: "steps 1-3 are cached". Pure. */
export function cachedBefore(step: number): string {
  if (step <= 1) return "it starts again from step 1";
  return step === 2 ? "step 1 is cached" : `steps 1-${step - 1} are cached`;
}

/** What a batch does outside its own state. */
export interface BatchEffects {
  /** Commits `container` as `tag`; `pause` unless the driver said no other process runs in it. */
  commit(container: string, tag: string, o: { pause: boolean }): Promise<void>;
  /** The caller's work beside the last step's commit (e.g. extraction), or undefined when it has none. */
  afterLast(container: string, committed: Promise<void>): Promise<void> | undefined;
  /** Tells the driver to go on: its next step, or its exit after the last one. */
  go(): void;
  /** Ends the driver's input (again is harmless): a driver waiting for a go then stops with EXIT_NO_GO. */
  endInput(): void;
  /** False when the engine does not answer: a container that ended early was the daemon's doing. */
  engineAnswers(): Promise<boolean>;
  /** Removes the batch's build files from this machine (again is harmless). */
  removeFiles(): void;
  /** Lets this process end before the build container has exited and been removed. */
  detach(): void;
  now(): number;
  log(line: string): void;
}

export interface BatchPlan {
  image: string;
  /** Every step of the image: for "step i/total", and to know the very last one. */
  steps: PlannedStep[];
  /** The consecutive steps this container runs. */
  batch: PlannedStep[];
  /** Part of each marker line, so that a step's output cannot pass for one. */
  nonce: string;
}

/** Lines of a failed step's output kept for its error. */
const TAIL_LINES = 20;

export class BatchRun {
  /** Seconds of each committed step, in order. */
  readonly seconds: number[] = [];
  private readonly markers: Map<string, PlannedStep>;
  private readonly tail: string[] = [];
  private readonly lastDone: Promise<void>;
  private releaseLast = () => {};
  private container = "";
  private committed = 0;
  private started: number;
  /** The commits so far, one after the other: a step's image is the parent of the next. */
  private commits: Promise<void> = Promise.resolve();
  private commitError: unknown;
  /** The blank line the driver prints before each marker is not the step's output. */
  private heldBlank = false;

  constructor(
    private readonly plan: BatchPlan,
    private readonly fx: BatchEffects,
  ) {
    this.markers = new Map(plan.batch.map((s) => [markerLine(plan.nonce, s.index), s]));
    this.lastDone = new Promise<void>((resolve) => {
      this.releaseLast = resolve;
    });
    this.started = fx.now();
  }

  /** Whether this batch ends with the image's last step: then its result can be used before the container exits. */
  get endsBuild(): boolean {
    return this.plan.batch.at(-1) === this.plan.steps.at(-1);
  }

  /** The container is about to be created: the first step's command goes to the log. */
  announce(): void {
    const first = this.plan.batch[0];
    this.fx.log(`${this.prefix(first)} $ ${first.command}`);
  }

  /** The driver starts in container `name`: the first step's time counts from here. */
  containerStarting(name: string): void {
    this.container = name;
    this.started = this.fx.now();
  }

  /** A line the driver printed (stdout or stderr): a step's marker, or output of the current step. */
  line(line: string): void {
    const { marker, quiet } = readMarker(line);
    const step = this.markers.get(marker);
    if (!step) {
      this.output(line);
      return;
    }
    this.heldBlank = false;
    this.markers.delete(marker);
    this.stepDone(step, quiet);
  }

  /** `step` succeeded and the driver waits: its commit comes after the ones before it. */
  private stepDone(step: PlannedStep, quiet: boolean): void {
    this.commits = this.commits.then(() => this.commitStep(step, quiet));
  }

  private async commitStep(step: PlannedStep, quiet: boolean): Promise<void> {
    if (this.commitError) return;
    try {
      const final = this.committed + 1 === this.plan.batch.length && step === this.plan.steps.at(-1);
      // A process the step left running could change files mid-commit: pause the container then.
      const commit = this.fx.commit(this.container, step.tag, { pause: !quiet });
      // The last result is read (from its archives, or the waiting container) while it is committed.
      const after = final ? this.fx.afterLast(this.container, commit) : undefined;
      const [c, a] = await Promise.allSettled([commit, after]);
      if (c.status === "rejected") throw c.reason;
      this.stepCommitted(step);
      if (a.status === "rejected") throw a.reason;
      this.goOn(final);
    } catch (e) {
      this.commitFailed(e);
    }
  }

  private stepCommitted(step: PlannedStep): void {
    this.committed++;
    const s = (this.fx.now() - this.started) / 1000;
    this.seconds.push(s);
    this.fx.log(`${this.prefix(step)} done in ${s.toFixed(1)}s`);
  }

  /** Lets the driver run the next step; after the image's last step it has nothing more to wait for. */
  private goOn(final: boolean): void {
    const next = this.plan.batch[this.committed];
    if (next) this.fx.log(`${this.prefix(next)} $ ${next.command}`);
    this.started = this.fx.now();
    this.tail.length = 0;
    this.fx.go();
    if (final) {
      this.fx.endInput(); // the driver's last read: nothing more to say
      this.releaseLast();
    }
  }

  /** No later step may run on a result that was not committed: the driver's input ends, it stops. */
  private commitFailed(e: unknown): void {
    this.commitError = e;
    this.fx.endInput();
  }

  /** The driver's container exited: the number of steps committed, or why not all of them were. */
  async exited(run: StreamedRun): Promise<number> {
    await this.commits;
    this.fx.endInput();
    if (this.heldBlank) this.show("");
    if (this.commitError) throw this.commitError;
    if (run.exitCode === 0 && this.committed === this.plan.batch.length) return this.committed;
    throw await this.failure(run);
  }

  /** Why the container ended before all its steps were committed. */
  private async failure(run: StreamedRun): Promise<Error> {
    const { image, steps } = this.plan;
    const step = this.current();
    const total = steps.length;
    // A daemon that stops (restart, upgrade) ends the step too: say so rather than blame the step.
    if (!(await this.fx.engineAnswers()))
      return new DockerUnreachableError(
        `it stopped answering during build step ${step.index}/${total} of ${image} (exit code ${run.exitCode}); build again once it runs: ${cachedBefore(step.index)}.`,
      );
    if (run.exitCode === EXIT_NO_GO || run.exitCode === 0)
      return new Error(
        `image ${image}: the build container of step ${step.index}/${total} stopped before its result was committed (exit code ${run.exitCode}); build again: ${cachedBefore(step.index)}.`,
      );
    return new StepFailedError(image, step.index, total, step.command, run.exitCode, this.tail);
  }

  /**
   * The batch's outcome from `container` (which ends with exited(), or an error such as an interruption);
   * the driver's input and the build files go either way. With `onTeardown`, a batch that ends the build
   * returns once its last step is committed: the container's exit goes on in the background, handed to
   * onTeardown (a late problem is logged; the results are committed).
   */
  async settle(container: Promise<number>, onTeardown?: (cleanup: Promise<void>) => void): Promise<number> {
    const whole = (async () => {
      try {
        return await container;
      } finally {
        this.fx.endInput();
        this.fx.removeFiles();
      }
    })();
    if (!onTeardown || !this.endsBuild) return whole;
    // Whichever comes first: the whole run (an error, or a container that ended) or the last result in place.
    const first = await Promise.race([whole.then((n) => ({ n })), this.lastDone.then(() => null)]);
    if (first) return first.n;
    // The steps are done: the container may go on exiting after this process ended. Its build files and
    // mounts are not needed any more (a mounted folder may be removed while the container still runs).
    this.fx.removeFiles();
    this.fx.detach();
    onTeardown(
      whole.then(
        () => undefined,
        (e: unknown) =>
          this.fx.log(`[${this.plan.image}] after the last step: ${e instanceof Error ? e.message : e} (its results are committed)`),
      ),
    );
    return this.plan.batch.length;
  }

  private prefix(s: PlannedStep): string {
    return `[${this.plan.image} step ${s.index}/${this.plan.steps.length}]`;
  }

  /** The step running now: the first one not committed (the last one once all are). */
  private current(): PlannedStep {
    return this.plan.batch[Math.min(this.committed, this.plan.batch.length - 1)];
  }

  /** A line of the current step's output, held back while it may be the blank line before a marker. */
  private output(line: string): void {
    if (this.heldBlank) this.show("");
    this.heldBlank = line === "";
    if (!this.heldBlank) this.show(line);
  }

  private show(line: string): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    this.fx.log(`${this.prefix(this.current())} ${line}`);
  }
}
