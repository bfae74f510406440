import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { docker, dockerStream, removeTemporary, TEMP_LABEL, temporaryName, trackTemporary } from "../docker/cli";
import type { PlannedStep } from "../plan/steps";

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
  log: (line: string) => void;
}

export interface StepRunResult {
  /** Steps that ran (each started one container). */
  ran: number;
  /** Seconds per step that ran, in order. */
  seconds: number[];
}

/** Single-quotes a value for sh. */
const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The script a step container runs: environment, working directory, then the step under `sh -e`. */
export function stepScript(command: string, workdir: string): string {
  return `set -e\nset -a\n. /cyberbuild/env\nset +a\ncd ${shq(workdir)}\n${command}\n`;
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
    const name = temporaryName("step");
    const started = Date.now();
    const tail: string[] = [];
    try {
      writeFileSync(join(scratch, "env"), [...o.env, ...o.passEnv].map(([k, v]) => `${k}=${shq(v)}\n`).join(""), { mode: 0o600 });
      writeFileSync(join(scratch, "run.sh"), stepScript(step.command, o.workdir));
      chmodSync(scratch, 0o755);
      o.log(`${prefix} $ ${step.command}`);
      trackTemporary(name);
      const args = ["run", "--name", name, "--label", `${TEMP_LABEL}=1`, "--user", "0", "-v", `${scratch}:/cyberbuild:ro`];
      if (o.inputsPath) args.push("-v", `${o.inputsPath}:/cyberinputs:ro`);
      for (const c of o.caches) args.push("-v", `${CACHE_VOLUME_PREFIX}${c.name}:${c.path}`);
      args.push("--entrypoint", "/bin/sh", from, "/cyberbuild/run.sh");
      const run = await dockerStream(args, {
        onLine: (line) => {
          tail.push(line);
          if (tail.length > 20) tail.shift();
          o.log(`${prefix} ${line}`);
        },
      });
      if (run.exitCode !== 0) {
        await removeTemporary(name);
        throw new StepFailedError(o.image, step.index, total, step.command, run.exitCode, tail);
      }
      await docker(["commit", name, step.tag]);
      await removeTemporary(name);
      const s = (Date.now() - started) / 1000;
      seconds.push(s);
      o.log(`${prefix} done in ${s.toFixed(1)}s`);
      from = step.tag;
    } finally {
      await removeTemporary(name);
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  return { ran: seconds.length, seconds };
}
