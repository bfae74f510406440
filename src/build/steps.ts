import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { currentDockerHost, daemonInfo, docker, dockerMaybe, DockerUnreachableError, dockerStream } from "../docker/cli";
import { commitContainer } from "../docker/commit";
import { trackScratch, withTemporary } from "../docker/temporaries";
import type { PlannedStep } from "../plan/steps";
import { shellQuote } from "../plan/shell";
import { driverScript, EXIT_NO_GO, GO, markerLine, PACK_DIR, packFile, readMarker, stepFile, stepScript } from "../plan/stepDriver";

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

export interface StepRunOptions {
  image: string;
  steps: PlannedStep[];
  /** Index (0-based) of the first step to run; earlier ones are cached. */
  startAt: number;
  /** Image the first step to run starts from: the base image ID or the previous step's tag. */
  from: string;
  env: [string, string][];
  /** Host variables passed through; written to a 0600 file that is mounted, never committed. */
  passEnv: [string, string][];
  workdir: string;
  caches: { path: string; name: string }[];
  /** Staged inputs folder to mount at /cyberinputs, if any. */
  inputsPath?: string;
  /** Default: from DOCKER_HOST (mount for a local engine, copy for a remote one). */
  transfer?: FileTransfer;
  log: (line: string) => void;
  /**
   * Container paths the driver archives right after the last step (local engines: into a mounted folder,
   * see packLines), handed to `afterLast` so that extraction needs no call to the engine.
   */
  pack?: string[];
  /**
   * Runs while the build container waits after its last step, beside that step's commit (e.g. extraction:
   * no second container for it). `packed`: archives of the `pack` paths that could be made (path → file);
   * `committed`: the last step's commit, for work that needs the final build image.
   */
  afterLast?: (container: string, packed: Map<string, string>, committed: Promise<void>) => Promise<void>;
  /**
   * With it, runSteps returns as soon as the last step is committed and `afterLast` ran, with the build
   * files removed from this machine: the build container's exit and its removal by the engine (`--rm`;
   * 0.25 s for the fixture, 0.6 s with btcd's 42 MB of results, mostly the kernel writing them out at the
   * unmount) go on in the background. The promise handed here ends when the container is gone (it never
   * rejects; a late problem is logged); nothing needs to wait for it, and on Docker this process may end
   * before it (the child is unref'd).
   */
  onTeardown?: (cleanup: Promise<void>) => void;
}

export interface StepRunResult {
  /** Steps that ran (consecutive steps share one container on a local engine). */
  ran: number;
  /** Containers started for them. */
  containers: number;
  /** Seconds per step that ran, in order. */
  seconds: number[];
}

/**
 * How build files reach a step container: bind mounts when the engine runs on this machine (unix
 * socket), copies (`docker cp` before start) when it is remote, where local paths cannot be mounted.
 */
export type FileTransfer = "mount" | "copy";

export function transferFor(dockerHost: string | undefined): FileTransfer {
  return !dockerHost || dockerHost.startsWith("unix://") || dockerHost.startsWith("npipe://") ? "mount" : "copy";
}

export const CACHE_VOLUME_PREFIX = "cybernode-cache-";

/** Lets this process end while `c` (an attached `docker run` whose work is done) still runs. */
function unrefChild(c: ChildProcess | undefined): void {
  if (!c) return;
  c.unref();
  // The pipes are sockets; a referenced one would keep the event loop (and so the process) alive.
  for (const s of [c.stdin, c.stdout, c.stderr]) (s as unknown as Socket | null)?.unref?.();
}

/**
 * Runs the uncached steps and commits each result under its cache key (the next build starts after the
 * last cached one). On a local engine all of them share one container (see plan/stepDriver.ts); with
 * copied build files (a remote engine) each step has its own. Containers are removed on success, failure
 * and interruption.
 */
export async function runSteps(o: StepRunOptions): Promise<StepRunResult> {
  const copy = (o.transfer ?? transferFor(currentDockerHost())) === "copy";
  const seconds: number[] = [];
  let from = o.from;
  let containers = 0;
  for (let i = o.startAt; i < o.steps.length; ) {
    const batch = copy ? [o.steps[i]] : o.steps.slice(i);
    const done = await runBatch(o, batch, from, copy, seconds);
    containers++;
    i += done;
    from = batch[done - 1].tag;
  }
  return { ran: seconds.length, containers, seconds };
}

/** One container for `batch`; returns how many steps it committed (all of them, or it throws). */
async function runBatch(o: StepRunOptions, batch: PlannedStep[], from: string, copy: boolean, seconds: number[]): Promise<number> {
  const total = o.steps.length;
  // Docker removes a --rm container itself, so this process need not outlive it. Podman's compatible API
  // reports exit code 0 for a failed step of a --rm container (its wait for "removed" loses the code):
  // there the container is removed by us, and this process waits for that before it ends.
  const selfRemoving = (await daemonInfo()).kind === "docker";
  const scratch = mkdtempSync(join(tmpdir(), "cybernode-step-"));
  const untrackScratch = trackScratch(scratch);
  const nonce = randomBytes(8).toString("hex");
  const markers = new Map(batch.map((s) => [markerLine(nonce, s.index), s]));
  const tail: string[] = [];
  const stdin = new PassThrough();
  const endInput = () => void (stdin.writableEnded || stdin.end());
  let committed = 0;
  let releaseLast = () => {};
  const lastDone = new Promise<void>((resolve) => {
    releaseLast = resolve;
  });
  let started = Date.now();
  let commits: Promise<void> = Promise.resolve();
  let commitError: unknown;
  let heldBlank = false; // the blank line the driver prints before each marker is not the step's output
  const prefix = (s: PlannedStep) => `[${o.image} step ${s.index}/${total}]`;
  const current = () => batch[Math.min(committed, batch.length - 1)];
  const show = (line: string) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    o.log(`${prefix(current())} ${line}`);
  };
  const onLine = (line: string) => {
    const { marker, quiet } = readMarker(line);
    const step = markers.get(marker);
    if (!step) {
      if (heldBlank) show("");
      heldBlank = line === "";
      if (!heldBlank) show(line);
      return;
    }
    heldBlank = false;
    markers.delete(marker);
    commits = commits.then(async () => {
      if (commitError) return;
      try {
        const final = committed + 1 === batch.length && step === o.steps.at(-1);
        // A process the step left running could change files mid-commit: pause the container then.
        const commit = commitContainer(name, step.tag, { pause: !quiet });
        // The last result is read (from its archives, or the waiting container) while it is committed.
        const after = final && o.afterLast ? o.afterLast(name, packedArchives(), commit) : undefined;
        const [c, a] = await Promise.allSettled([commit, after]);
        if (c.status === "rejected") throw c.reason;
        committed++;
        const s = (Date.now() - started) / 1000;
        seconds.push(s);
        o.log(`${prefix(step)} done in ${s.toFixed(1)}s`);
        if (a.status === "rejected") throw a.reason;
        const next = batch[committed];
        if (next) o.log(`${prefix(next)} $ ${next.command}`);
        started = Date.now();
        tail.length = 0;
        stdin.write(`${GO}\n`);
        if (final) {
          endInput(); // the driver's last read: nothing more to say
          releaseLast();
        }
      } catch (e) {
        commitError = e;
        endInput();
      }
    });
  };
  const pack = !copy && batch.at(-1) === o.steps.at(-1) ? (o.pack ?? []) : [];
  const outDir = join(scratch, "out");
  const packedArchives = () =>
    new Map(pack.flatMap((p, n) => (existsSync(join(outDir, packFile(n))) ? [[p, join(outDir, packFile(n))] as [string, string]] : [])));
  let name = "";
  let child: ChildProcess | undefined;
  const whole = (async () => {
    try {
      return await inContainer();
    } finally {
      endInput();
      rmSync(scratch, { recursive: true, force: true });
      untrackScratch();
    }
  })();
  if (!o.onTeardown || batch.at(-1) !== o.steps.at(-1)) return whole;
  // Whichever comes first: the whole run (an error, or a container that ended) or the last result in place.
  const first = await Promise.race([whole.then((n) => ({ n })), lastDone.then(() => null)]);
  if (first) return first.n;
  // The steps are done: the container may go on exiting after this process ended. Its build files and
  // mounts are not needed any more (a mounted folder may be removed while the container still runs).
  rmSync(scratch, { recursive: true, force: true });
  untrackScratch();
  if (selfRemoving) unrefChild(child);
  o.onTeardown(
    whole.then(
      () => undefined,
      (e: unknown) => o.log(`[${o.image}] after the last step: ${e instanceof Error ? e.message : e} (its results are committed)`),
    ),
  );
  return batch.length;

  async function inContainer(): Promise<number> {
    return await withTemporary("step", async (t) => {
      name = t.name;
      writeFileSync(join(scratch, "env"), [...o.env, ...o.passEnv].map(([k, v]) => `${k}=${shellQuote(v)}\n`).join(""), { mode: 0o600 });
      for (const s of batch) writeFileSync(join(scratch, stepFile(s.index)), stepScript(s.command, o.workdir));
      writeFileSync(
        join(scratch, "run.sh"),
        driverScript(
          batch.map((s) => s.index),
          nonce,
          copy,
          pack,
        ),
      );
      chmodSync(scratch, 0o755);
      if (pack.length) mkdirSync(outDir, { mode: 0o755 });
      o.log(`${prefix(batch[0])} $ ${batch[0].command}`);
      const args = [...t.createArgs, ...(selfRemoving ? ["--rm"] : []), "-i", "--user", "0"];
      if (!copy) args.push("-v", `${scratch}:/cyberbuild:ro`);
      if (pack.length) args.push("-v", `${outDir}:${PACK_DIR}`);
      if (o.inputsPath && !copy) args.push("-v", `${o.inputsPath}:/cyberinputs:ro`);
      for (const c of o.caches) args.push("-v", `${CACHE_VOLUME_PREFIX}${c.name}:${c.path}`);
      args.push("--entrypoint", "/bin/sh", from, "/cyberbuild/run.sh");
      if (copy) {
        await docker(["create", ...args]);
        await docker(["cp", `${scratch}/.`, `${name}:/cyberbuild`]);
        if (o.inputsPath) await docker(["cp", `${o.inputsPath}/.`, `${name}:/cyberinputs`]);
      }
      started = Date.now();
      const run = await dockerStream(copy ? ["start", "--attach", "--interactive", name] : ["run", ...args], {
        onLine,
        stdin,
        onSpawn: (c) => {
          child = c;
        },
      });
      await commits;
      endInput();
      if (heldBlank) show("");
      if (commitError) throw commitError;
      if (run.exitCode === 0 && committed === batch.length) return committed;
      // A daemon that stops (restart, upgrade) ends the step too: say so rather than blame the step.
      const step = current();
      if ((await dockerMaybe(["version", "--format", "{{.Server.Version}}"])) === null)
        throw new DockerUnreachableError(
          `it stopped answering during build step ${step.index}/${total} of ${o.image} (exit code ${run.exitCode}); build again once it runs: ${cachedBefore(step.index)}.`,
        );
      if (run.exitCode === EXIT_NO_GO || run.exitCode === 0)
        throw new Error(
          `image ${o.image}: the build container of step ${step.index}/${total} stopped before its result was committed (exit code ${run.exitCode}); build again: ${cachedBefore(step.index)}.`,
        );
      throw new StepFailedError(o.image, step.index, total, step.command, run.exitCode, tail);
    });
  }
}
