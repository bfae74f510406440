import test from "ava";
import type { StreamedRun } from "../../src/docker/cli";
import { DockerUnreachableError } from "../../src/docker/cli";
import { type BatchEffects, BatchRun, StepFailedError } from "../../src/builder/stepRunner";
import { EXIT_NO_GO, markerLine, QUIET } from "../../src/builder/stepDriver";
import type { PlannedStep } from "../../src/builder/stepKeys";

// The commit chain of one build container, driven without Docker: a scripted driver prints step output and
// markers and waits for "go" the way plan/stepDriver.ts's does; commits, the clock and the log are fakes
// that record what the run did, in order. The real driver and Docker: stepDriver.test.ts, tests/integration.

const IMAGE = "fullnode/fake";
const NONCE = "feedfacefeedface";
const CONTAINER = "cybernode-tmp-step-1-host-abc123";
const STEPS: PlannedStep[] = [1, 2, 3].map((i) => ({
  index: i,
  command: `make part${i}`,
  key: `key${i}`,
  tag: `cybernode-step/fullnode-fake:key${i}`,
}));
const tag = (i: number) => STEPS[i - 1].tag;

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}
function deferred(): Deferred {
  let resolve = () => {};
  let reject: (e: unknown) => void = () => {};
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
const tick = (ms = 2) => new Promise<void>((r) => setTimeout(r, ms));

/** The world as a batch run sees it; `events` is what it did, in order. */
class World implements BatchEffects {
  readonly events: string[] = [];
  readonly logs: string[] = [];
  clock = 1_000_000;
  /** How a commit ends, by tag (default: a moment later, successfully). */
  commitOutcome: (tag: string) => Promise<void> = () => tick();
  afterLastWork: ((container: string, committed: Promise<void>) => Promise<void>) | undefined;
  answers = true;
  private replies: string[] = [];
  private ended = false;
  private wake = () => {};

  commit(container: string, tag: string, o: { pause: boolean }): Promise<void> {
    this.events.push(`commit ${tag}${o.pause ? " paused" : ""}${container === CONTAINER ? "" : ` in ${container}`}`);
    return this.commitOutcome(tag).then(
      () => void this.events.push(`committed ${tag}`),
      (e: unknown) => {
        this.events.push(`commit failed ${tag}`);
        throw e;
      },
    );
  }
  afterLast(container: string, committed: Promise<void>): Promise<void> | undefined {
    if (!this.afterLastWork) return undefined;
    this.events.push("afterLast");
    return this.afterLastWork(container, committed);
  }
  go(): void {
    this.events.push(this.ended ? "go after end" : "go");
    if (!this.ended) this.replies.push("go");
    this.wake();
  }
  endInput(): void {
    if (!this.ended) this.events.push("end input");
    this.ended = true;
    this.wake();
  }
  async engineAnswers(): Promise<boolean> {
    this.events.push("engine asked");
    return this.answers;
  }
  removeFiles(): void {
    this.events.push("files removed");
  }
  detach(): void {
    this.events.push("detached");
  }
  now(): number {
    return this.clock;
  }
  log(line: string): void {
    this.logs.push(line);
  }

  /** The driver's `read -r reply`: the next reply, or null at end of input (or when nothing comes). */
  async read(): Promise<string | null> {
    const deadline = Date.now() + 2000;
    while (!this.replies.length && !this.ended) {
      if (Date.now() > deadline) {
        this.events.push("driver gave up waiting");
        return null;
      }
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 50);
      });
    }
    return this.replies.shift() ?? null;
  }
}

/** A step as the scripted driver runs it: output lines, seconds it takes, how it ends. */
interface Scripted {
  out?: string[];
  seconds?: number;
  /** The step's exit code when it fails (no marker then). */
  exit?: number;
  /** A process the step started still runs at its marker (the driver does not say quiet). */
  lingering?: boolean;
}

/** The driver of plan/stepDriver.ts over `script`, the first entry being step `first`. */
async function driver(run: BatchRun, w: World, script: Scripted[], first: number): Promise<StreamedRun> {
  for (const [n, s] of script.entries()) {
    for (const l of s.out ?? []) run.line(l);
    w.clock += (s.seconds ?? 1) * 1000;
    if (s.exit !== undefined) return { exitCode: s.exit, signal: null };
    run.line("");
    run.line(`${markerLine(NONCE, first + n)}${s.lingering ? "" : QUIET}`);
    if ((await w.read()) !== "go") return { exitCode: EXIT_NO_GO, signal: null };
  }
  return { exitCode: 0, signal: null };
}

function batchRun(first = 1): { run: BatchRun; w: World } {
  const w = new World();
  const run = new BatchRun({ image: IMAGE, steps: STEPS, batch: STEPS.slice(first - 1), nonce: NONCE }, w);
  return { run, w };
}

/** The container's part as steps.ts plays it: announce, start, run the driver, report its exit. */
async function container(run: BatchRun, w: World, script: Scripted[], first = 1, exit?: Promise<StreamedRun>): Promise<number> {
  run.announce();
  run.containerStarting(CONTAINER);
  const r = await driver(run, w, script, first);
  w.events.push(`driver exited ${r.exitCode}`);
  return await run.exited(exit ? await exit : r);
}

test("all steps succeed: each is committed under its tag, in order, before the driver goes on", async (t) => {
  const { run, w } = batchRun();
  const script = [{ out: ["configure", "", "ok"], seconds: 1.5 }, { out: ["compile"], seconds: 2 }, { out: ["install"] }];
  t.is(await run.settle(container(run, w, script)), 3, "the caller learns that all three were committed");
  t.deepEqual(w.events, [
    ...[1, 2].flatMap((i) => [`commit ${tag(i)}`, `committed ${tag(i)}`, "go"]),
    ...[`commit ${tag(3)}`, `committed ${tag(3)}`, "go", "end input"],
    "driver exited 0",
    "files removed",
  ]);
  t.deepEqual(run.seconds, [1.5, 2, 1]);
  t.deepEqual(w.logs, [
    "[fullnode/fake step 1/3] $ make part1",
    "[fullnode/fake step 1/3] configure",
    "[fullnode/fake step 1/3] ",
    "[fullnode/fake step 1/3] ok",
    "[fullnode/fake step 1/3] done in 1.5s",
    "[fullnode/fake step 2/3] $ make part2",
    "[fullnode/fake step 2/3] compile",
    "[fullnode/fake step 2/3] done in 2.0s",
    "[fullnode/fake step 3/3] $ make part3",
    "[fullnode/fake step 3/3] install",
    "[fullnode/fake step 3/3] done in 1.0s",
  ]);

  // A batch after a cached step 1 commits only steps 2 and 3, numbered as in the whole build.
  const later = batchRun(2);
  t.is(await later.run.settle(container(later.run, later.w, script.slice(1), 2)), 2);
  t.deepEqual(
    later.w.events.filter((e) => e.startsWith("commit ")),
    [`commit ${tag(2)}`, `commit ${tag(3)}`],
  );
  t.is(later.w.logs[0], "[fullnode/fake step 2/3] $ make part2");
});

test("a failing step: StepFailedError names image, step, command, exit code and its own last lines; earlier steps stay committed", async (t) => {
  const { run, w } = batchRun();
  const noise = Array.from({ length: 5 }, (_, i) => `cc -c file${i}.c`);
  const script = [{ out: ["step one says hi"] }, { out: [...noise, "error: boom"], exit: 2 }, { out: ["never"] }];
  const err = await t.throwsAsync(run.settle(container(run, w, script)), { instanceOf: StepFailedError });
  t.like(err, { image: IMAGE, step: 2, total: 3, command: "make part2", exitCode: 2 });
  t.deepEqual(err?.lastLines, [...noise, "error: boom"], "step 2's lines, none of step 1's");
  t.regex(err?.message ?? "", /^image fullnode\/fake: build step 2\/3 failed with exit code 2\n {2}command: make part2\n/);
  t.regex(err?.message ?? "", /\| error: boom\nFix the step in images\/fullnode\/fake\.ts and build again; step 1 is cached\.$/);
  t.deepEqual(w.events, [`commit ${tag(1)}`, `committed ${tag(1)}`, "go", "driver exited 2", "end input", "engine asked", "files removed"]);
  t.deepEqual(run.seconds, [1]);
  t.false(
    w.logs.some((l) => l.includes("step 2/3] done") || l.includes("never")),
    "step 2 is not reported done",
  );

  // A long log: the error keeps its last 20 lines; a first step that fails leaves nothing cached.
  const long = batchRun();
  const many = Array.from({ length: 25 }, (_, i) => `line ${i}`);
  const e1 = await t.throwsAsync(long.run.settle(container(long.run, long.w, [{ out: many, exit: 1 }])), { instanceOf: StepFailedError });
  t.deepEqual(e1?.lastLines, many.slice(-20));
  t.regex(e1?.message ?? "", /it starts again from step 1\.$/);
  t.false(long.w.events.some((e) => e.startsWith("commit")));
});

test("a container that ends without a failing step: the engine's stop or the driver's own stop is said, not a step failure", async (t) => {
  const gone = batchRun();
  gone.w.answers = false;
  const e1 = await t.throwsAsync(gone.run.settle(container(gone.run, gone.w, [{}, { exit: 137 }])), { instanceOf: DockerUnreachableError });
  t.regex(e1?.message ?? "", /during build step 2\/3 of fullnode\/fake \(exit code 137\); build again once it runs: step 1 is cached\./);

  const stopped = batchRun();
  const e2 = await t.throwsAsync(stopped.run.settle(container(stopped.run, stopped.w, [{}, { exit: EXIT_NO_GO }])));
  t.false(e2 instanceof StepFailedError);
  t.regex(e2?.message ?? "", /the build container of step 2\/3 stopped before its result was committed \(exit code 97\)/);
  t.deepEqual(
    stopped.w.events.filter((e) => e.startsWith("commit ")),
    [`commit ${tag(1)}`],
  );
});

test("the commit of step 2 fails: that error surfaces, the driver is stopped, step 3 never runs nor is committed, files go", async (t) => {
  const { run, w } = batchRun();
  const full = new Error("commit: no space left on device");
  w.commitOutcome = (ref) => (ref === tag(2) ? tick().then(() => Promise.reject(full)) : tick());
  const err = await t.throwsAsync(run.settle(container(run, w, [{}, {}, { out: ["never"] }])));
  t.is(err, full, "the commit's own error, not a driver exit code");
  t.deepEqual(w.events, [
    `commit ${tag(1)}`,
    `committed ${tag(1)}`,
    "go",
    `commit ${tag(2)}`,
    `commit failed ${tag(2)}`,
    "end input",
    `driver exited ${EXIT_NO_GO}`,
    "files removed",
  ]);
  t.deepEqual(run.seconds, [1]);
  t.false(w.logs.some((l) => l.includes("never") || l.includes("step 2/3] done")));
});

test("interrupted while step 2 is committed: the interruption surfaces at once, input and files go, nothing is committed after", async (t) => {
  const { run, w } = batchRun();
  const commit2 = deferred();
  w.commitOutcome = (ref) => (ref === tag(2) ? commit2.promise : tick());
  const interrupted = new Error("interrupted by SIGINT");
  // As dockerStream does on an abort: the attached run rejects while the driver waits for its go.
  const whole = (async () => {
    run.announce();
    run.containerStarting(CONTAINER);
    w.clock += 1000;
    run.line(markerLine(NONCE, 1) + QUIET);
    await w.read();
    run.line(markerLine(NONCE, 2) + QUIET);
    for (let n = 0; !w.events.includes(`commit ${tag(2)}`); n++) {
      if (n > 500) throw new Error("step 2 was never committed");
      await tick();
    }
    throw interrupted;
  })();
  const err = await t.throwsAsync(run.settle(whole));
  t.is(err, interrupted);
  t.deepEqual(w.events.slice(-3), [`commit ${tag(2)}`, "end input", "files removed"], "cleaned up before the commit ended");
  // The commit then fails too (commitContainer checks for the interruption): no go, no step 3.
  commit2.reject(interrupted);
  await tick(20);
  t.deepEqual(w.events.slice(-1), [`commit failed ${tag(2)}`]);
  t.false(w.events.includes(`commit ${tag(3)}`));
  t.deepEqual(run.seconds, [1]);
});

test("a process left running after the last step: its commit pauses, the result returns before the container exits", async (t) => {
  const { run, w } = batchRun();
  const extracted = deferred();
  w.afterLastWork = async (name, committed) => {
    t.is(name, CONTAINER);
    await committed;
    extracted.resolve();
  };
  const exit = deferred();
  const exitCode = { value: 0 };
  const exited = exit.promise.then(() => ({ exitCode: exitCode.value, signal: null }));
  let teardown: Promise<void> | undefined;
  const script = [{}, { lingering: true }, { lingering: true, out: ["daemon &"] }];
  const settled = run.settle(container(run, w, script, 1, exited), (c) => {
    teardown = c;
  });
  const first = await Promise.race([settled, tick(1000).then(() => "still waiting for the container")]);
  t.is(first, 3, "returns once step 3 is committed and extracted");
  t.deepEqual(
    w.events.filter((e) => !e.startsWith("driver exited")),
    [
      ...[`commit ${tag(1)}`, `committed ${tag(1)}`, "go"],
      ...[`commit ${tag(2)} paused`, `committed ${tag(2)}`, "go"],
      ...[`commit ${tag(3)} paused`, "afterLast", `committed ${tag(3)}`, "go", "end input"],
      "files removed",
      "detached",
    ],
    "steps 2 and 3 left a process: their commits pause the container; extraction runs beside the last commit",
  );
  t.truthy(teardown, "the container's exit is handed to onTeardown");
  // The container is killed on its way out (the left process): logged, never thrown, results kept.
  exitCode.value = 137;
  exit.resolve();
  await teardown;
  t.regex(w.logs.at(-1) ?? "", /^\[fullnode\/fake\] after the last step: .*exit code 137.*\(its results are committed\)$/s);
  t.deepEqual(w.events.slice(-2), ["engine asked", "files removed"]);

  // Without onTeardown the caller waits for the container's exit.
  const plain = batchRun();
  const late = deferred();
  const waiting = plain.run.settle(
    container(
      plain.run,
      plain.w,
      script,
      1,
      late.promise.then(() => ({ exitCode: 0, signal: null })),
    ),
  );
  t.is(await Promise.race([waiting, tick(100).then(() => "waiting")]), "waiting");
  late.resolve();
  t.is(await waiting, 3);
});
