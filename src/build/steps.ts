import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { currentDockerHost, docker, dockerMaybe, DockerUnreachableError, dockerStream } from "../docker/cli";
import { commitContainer } from "../docker/commit";
import { trackScratch, withTemporary } from "../docker/temporaries";
import type { PlannedStep } from "../plan/steps";
import { shellQuote } from "../plan/shell";

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
        `Fix the step in images/${image}.ts and build again; steps before ${step} are cached.`,
    );
    this.name = "StepFailedError";
  }
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
}

export interface StepRunResult {
  /** Steps that ran (each started one container). */
  ran: number;
  /** Seconds per step that ran, in order. */
  seconds: number[];
}

/**
 * The script a step container runs: environment, working directory, then the step under `sh -e`.
 * When the files were copied in rather than mounted, the script removes them after the step, so
 * they are never committed (the env file may hold passed-through values).
 */
export function stepScript(command: string, workdir: string, copied = false): string {
  const cleanup = copied ? "cd / && rm -rf /cyberbuild /cyberinputs\n" : "";
  return `set -e\nset -a\n. /cyberbuild/env\nset +a\ncd ${shellQuote(workdir)}\n${command}\n${cleanup}`;
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

/**
 * Runs the uncached steps, each as a container on the previous result, committing and tagging it
 * with its cache key. Containers are removed on success, failure and interruption.
 */
export async function runSteps(o: StepRunOptions): Promise<StepRunResult> {
  const total = o.steps.length;
  const seconds: number[] = [];
  let from = o.from;
  for (let i = o.startAt; i < total; i++) {
    const step = o.steps[i];
    const prefix = `[${o.image} step ${step.index}/${total}]`;
    const scratch = mkdtempSync(join(tmpdir(), "cybernode-step-"));
    const untrackScratch = trackScratch(scratch);
    const started = Date.now();
    const tail: string[] = [];
    try {
      await withTemporary("step", async ({ name, createArgs }) => {
        writeFileSync(join(scratch, "env"), [...o.env, ...o.passEnv].map(([k, v]) => `${k}=${shellQuote(v)}\n`).join(""), { mode: 0o600 });
        const copy = (o.transfer ?? transferFor(currentDockerHost())) === "copy";
        writeFileSync(join(scratch, "run.sh"), stepScript(step.command, o.workdir, copy));
        chmodSync(scratch, 0o755);
        o.log(`${prefix} $ ${step.command}`);
        const args = [...createArgs, "--user", "0"];
        if (!copy) args.push("-v", `${scratch}:/cyberbuild:ro`);
        if (o.inputsPath && !copy) args.push("-v", `${o.inputsPath}:/cyberinputs:ro`);
        for (const c of o.caches) args.push("-v", `${CACHE_VOLUME_PREFIX}${c.name}:${c.path}`);
        args.push("--entrypoint", "/bin/sh", from, "/cyberbuild/run.sh");
        if (copy) {
          await docker(["create", ...args]);
          await docker(["cp", `${scratch}/.`, `${name}:/cyberbuild`]);
          if (o.inputsPath) await docker(["cp", `${o.inputsPath}/.`, `${name}:/cyberinputs`]);
        }
        const run = await dockerStream(copy ? ["start", "--attach", name] : ["run", ...args], {
          onLine: (line) => {
            tail.push(line);
            if (tail.length > 20) tail.shift();
            o.log(`${prefix} ${line}`);
          },
        });
        if (run.exitCode !== 0) {
          // A daemon that stops (restart, upgrade) ends the step too: say so rather than blame the step.
          if ((await dockerMaybe(["version", "--format", "{{.Server.Version}}"])) === null)
            throw new DockerUnreachableError(
              `it stopped answering during build step ${step.index}/${total} of ${o.image} (exit code ${run.exitCode}); build again once it runs: steps before ${step.index} are cached.`,
            );
          throw new StepFailedError(o.image, step.index, total, step.command, run.exitCode, tail);
        }
        await commitContainer(name, step.tag);
        const s = (Date.now() - started) / 1000;
        seconds.push(s);
        o.log(`${prefix} done in ${s.toFixed(1)}s`);
        from = step.tag;
      });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
      untrackScratch();
    }
  }
  return { ran: seconds.length, seconds };
}
