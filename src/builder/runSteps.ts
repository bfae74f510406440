import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { currentDockerHost, daemonInfo, docker, dockerMaybe, dockerStream } from "../docker/cli";
import { commitContainer } from "../docker/commit";
import { trackScratch, withTemporary } from "../docker/temporaries";
import type { PlannedStep } from "./stepKeys";
import { shellQuote } from "../common/shell";
import { driverScript, GO, PACK_DIR, packFile, stepFile, stepScript } from "./stepDriver";
import { type BatchEffects, BatchRun } from "./stepRunner";

export { cachedBefore, StepFailedError } from "./stepRunner";

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
   * files removed from this machine: the build container's exit and its removal by the engine (`--rm`,
   * mostly the kernel writing the results out at the unmount) go on in the background. The promise
   * handed here ends when the container is gone (it never rejects; a late problem is logged); nothing
   * needs to wait for it, and on Docker this process may end before it (the child is unref'd).
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
  // Docker removes a --rm container itself, so this process need not outlive it. Podman's compatible API
  // reports exit code 0 for a failed step of a --rm container (its wait for "removed" loses the code):
  // there the container is removed by us, and this process waits for that before it ends.
  const selfRemoving = (await daemonInfo()).kind === "docker";
  const pack = !copy && batch.at(-1) === o.steps.at(-1) ? (o.pack ?? []) : [];
  const c = new StepContainer(o, { batch, nonce: randomBytes(8).toString("hex"), from, copy, pack, selfRemoving });
  const run = new BatchRun({ image: o.image, steps: o.steps, batch, nonce: c.setup.nonce }, c);
  const done = await run.settle(inContainer(run, c), o.onTeardown);
  seconds.push(...run.seconds);
  return done;
}

interface BatchSetup {
  batch: PlannedStep[];
  nonce: string;
  /** The image the container starts from. */
  from: string;
  copy: boolean;
  /** Paths the driver archives after the last step (see StepRunOptions.pack). */
  pack: string[];
  /** Whether the engine removes the container itself (`--rm`). */
  selfRemoving: boolean;
}

/**
 * A batch's build container as BatchRun's effects: the build files on this machine (env, step scripts,
 * driver, packed results), the driver's stdin, and the docker process attached to the container.
 */
class StepContainer implements BatchEffects {
  readonly stdin = new PassThrough();
  readonly scratch: string;
  readonly outDir: string;
  child: ChildProcess | undefined;
  private readonly untrack: () => void;

  constructor(
    readonly options: StepRunOptions,
    readonly setup: BatchSetup,
  ) {
    this.scratch = mkdtempSync(join(tmpdir(), "cybernode-step-"));
    this.untrack = trackScratch(this.scratch);
    this.outDir = join(this.scratch, "out");
  }

  commit(container: string, tag: string, o: { pause: boolean }): Promise<void> {
    return commitContainer(container, tag, o);
  }

  afterLast(container: string, committed: Promise<void>): Promise<void> | undefined {
    return this.options.afterLast?.(container, this.packed(), committed);
  }

  go(): void {
    this.stdin.write(`${GO}\n`);
  }

  endInput(): void {
    if (!this.stdin.writableEnded) this.stdin.end();
  }

  async engineAnswers(): Promise<boolean> {
    return (await dockerMaybe(["version", "--format", "{{.Server.Version}}"])) !== null;
  }

  removeFiles(): void {
    rmSync(this.scratch, { recursive: true, force: true });
    this.untrack();
  }

  detach(): void {
    if (this.setup.selfRemoving) unrefChild(this.child);
  }

  now(): number {
    return Date.now();
  }

  log(line: string): void {
    this.options.log(line);
  }

  /** The archives of the `pack` paths that the driver could make (path → file). */
  private packed(): Map<string, string> {
    const file = (n: number) => join(this.outDir, packFile(n));
    return new Map(this.setup.pack.flatMap((p, n) => (existsSync(file(n)) ? [[p, file(n)] as [string, string]] : [])));
  }

  /** Env file (0600: it holds passed-through values), step scripts and driver, in the scratch folder. */
  writeFiles(): void {
    const { options: o, setup: b, scratch } = this;
    writeFileSync(join(scratch, "env"), [...o.env, ...o.passEnv].map(([k, v]) => `${k}=${shellQuote(v)}\n`).join(""), { mode: 0o600 });
    for (const s of b.batch) writeFileSync(join(scratch, stepFile(s.index)), stepScript(s.command, o.workdir));
    writeFileSync(
      join(scratch, "run.sh"),
      driverScript(
        b.batch.map((s) => s.index),
        b.nonce,
        b.copy,
        b.pack,
      ),
    );
    chmodSync(scratch, 0o755);
    if (b.pack.length) mkdirSync(this.outDir, { mode: 0o755 });
  }

  /** `docker create`/`run` arguments after the name and label ones. */
  runArgs(): string[] {
    const { options: o, setup: b } = this;
    const args = [...(b.selfRemoving ? ["--rm"] : []), "-i", "--user", "0"];
    if (!b.copy) args.push("-v", `${this.scratch}:/cyberbuild:ro`);
    if (b.pack.length) args.push("-v", `${this.outDir}:${PACK_DIR}`);
    if (o.inputsPath && !b.copy) args.push("-v", `${o.inputsPath}:/cyberinputs:ro`);
    for (const c of o.caches) args.push("-v", `${CACHE_VOLUME_PREFIX}${c.name}:${c.path}`);
    args.push("--entrypoint", "/bin/sh", b.from, "/cyberbuild/run.sh");
    return args;
  }
}

/** Runs the batch's driver in a temporary container (removed when this ends) and reports to `run`. */
function inContainer(run: BatchRun, c: StepContainer): Promise<number> {
  return withTemporary("step", async (t) => {
    c.writeFiles();
    run.announce();
    const args = [...t.createArgs, ...c.runArgs()];
    if (c.setup.copy) {
      await docker(["create", ...args]);
      await docker(["cp", `${c.scratch}/.`, `${t.name}:/cyberbuild`]);
      if (c.options.inputsPath) await docker(["cp", `${c.options.inputsPath}/.`, `${t.name}:/cyberinputs`]);
    }
    run.containerStarting(t.name);
    const result = await dockerStream(c.setup.copy ? ["start", "--attach", "--interactive", t.name] : ["run", ...args], {
      onLine: (line) => run.line(line),
      stdin: c.stdin,
      onSpawn: (child) => {
        c.child = child;
      },
    });
    return await run.exited(result);
  });
}
