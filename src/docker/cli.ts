import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { currentEngine, throwIfInterrupted, withEngine } from "./engine";

/**
 * All Docker access goes through the docker CLI, so DOCKER_HOST, DOCKER_CONTEXT and `docker context use`
 * apply exactly as they do for the user's own docker commands. Works with Engine 20.10 and later; no buildx.
 */

export class DockerError extends Error {
  constructor(
    readonly args: string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(
      `docker ${args.slice(0, 3).join(" ")}${args.length > 3 ? " ..." : ""} failed (exit ${exitCode}): ${stderr.trim().split("\n").slice(-5).join(" | ")}`,
    );
    this.name = "DockerError";
  }
}

// ---- which Docker host a call goes to

/**
 * Runs fn with every docker call made inside it (and in everything it awaits) addressed to `host`;
 * "" is the docker CLI's own default (DOCKER_HOST of the environment is then ignored). Scoped, not
 * global: two builds for two hosts can run in one process, and process.env is never changed.
 */
export function onDockerHost<T>(host: string, fn: () => Promise<T>): Promise<T> {
  return withEngine({ host }, fn);
}

/** The Docker host docker calls go to here: the engine's host, else DOCKER_HOST, else "" (the default). */
export function currentDockerHost(): string {
  return currentEngine().host ?? process.env.DOCKER_HOST ?? "";
}

/**
 * How a docker child ends when the engine's work is cancelled: killed at once (SIGKILL, so an attached
 * `docker run` does not forward the signal to the step). Cleanup calls pass `cleanup` and run anyway.
 */
function abortOptions(cleanup: boolean | undefined): { signal?: AbortSignal; killSignal: NodeJS.Signals } {
  const signal = cleanup ? undefined : currentEngine().signal;
  return { ...(signal ? { signal } : {}), killSignal: "SIGKILL" };
}

/** Environment for a docker child process addressed to `host` (default: the current one). */
export function dockerEnv(host: string = currentDockerHost()): NodeJS.ProcessEnv {
  if (host) return { ...process.env, DOCKER_HOST: host };
  const { DOCKER_HOST: _ignored, ...rest } = process.env;
  return rest;
}

export class DockerUnreachableError extends Error {
  constructor(detail: string) {
    const current = currentDockerHost();
    const host = current ? `DOCKER_HOST=${current}` : "the default socket (unix:///var/run/docker.sock)";
    super(
      `Docker is not reachable through ${host}: ${detail.trim().split("\n").pop()}\n` +
        "Start the daemon (sudo systemctl start docker, or run dockerd), or point DOCKER_HOST / `docker context use` at a running engine, then check with: docker info",
    );
    this.name = "DockerUnreachableError";
  }
}

/**
 * Runs the docker CLI without a shell and collects its output. Plain child_process rather than zx:
 * loading zx took 240 ms of the 343 ms that importing the builder cost (measured), paid by every CLI
 * run and every Pulumi provider process, for calls that need no shell features.
 */
export function runDocker(
  args: string[],
  o: { input?: string | Buffer; timeoutMs?: number; host?: string; cleanup?: boolean } = {},
): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("docker", args, {
      env: dockerEnv(o.host),
      stdio: ["pipe", "pipe", "pipe"],
      timeout: o.timeoutMs,
      ...abortOptions(o.cleanup),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", (e) => resolve({ exitCode: null, stdout: "", stderr: String(e.message) }));
    child.on("close", (exitCode) =>
      resolve({ exitCode, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }),
    );
    child.stdin.on("error", () => {}); // docker may exit before reading all of stdin; its exit code tells
    child.stdin.end(o.input);
  });
}

/** Runs `docker ...args` and returns trimmed stdout; throws DockerError on a non-zero exit. */
export async function docker(args: string[], input?: string | Buffer): Promise<string> {
  throwIfInterrupted();
  const out = await runDocker(args, { input });
  throwIfInterrupted();
  if (out.exitCode !== 0) throw new DockerError(args, out.exitCode, out.stderr);
  return out.stdout.trim();
}

/** Like docker() but returns null instead of throwing when the command fails (e.g. inspect of a missing image). */
export async function dockerMaybe(args: string[]): Promise<string | null> {
  const out = await runDocker(args);
  return out.exitCode === 0 ? out.stdout.trim() : null;
}

/** One `docker info` per host and process. */
const checked = new Map<string, Promise<DaemonInfo>>();

export interface DaemonInfo {
  serverVersion: string;
  /** Docker's name for the daemon's CPU architecture, e.g. amd64. */
  architecture: string;
  /** True when the daemon uses the containerd image store (image IDs are manifest digests there). */
  containerdStore: boolean;
}

const ARCH: Record<string, string> = { x86_64: "amd64", aarch64: "arm64", armv7l: "arm", ppc64le: "ppc64le", s390x: "s390x" };

/** Checks once per process that the daemon answers; throws DockerUnreachableError with what to do. */
export function daemonInfo(): Promise<DaemonInfo> {
  const host = currentDockerHost();
  const known = checked.get(host);
  if (known) return known;
  const info = (async () => {
    // The Engine API on a local socket answers in ~2 ms; the CLI (any host) in 60-200 ms.
    const { engineGet } = require("./engineApi") as typeof import("./engineApi");
    const api = await engineGet("/info");
    let raw: unknown = api?.status === 200 ? api.body : undefined;
    if (raw === undefined) {
      const out = await runDocker(["info", "--format", "{{json .}}"], { timeoutMs: 30_000 });
      if (out.exitCode !== 0) throw new DockerUnreachableError(out.stderr || `docker info exited with ${out.exitCode}`);
      raw = JSON.parse(out.stdout);
    }
    const info = raw as {
      ServerVersion?: string;
      Architecture?: string;
      DriverStatus?: [string, string][];
      ServerErrors?: string[];
    };
    if (!info.ServerVersion) throw new DockerUnreachableError((info.ServerErrors ?? []).join("; ") || "no server answered");
    const driverStatus = JSON.stringify(info.DriverStatus ?? []);
    return {
      serverVersion: info.ServerVersion,
      architecture: ARCH[info.Architecture ?? ""] ?? info.Architecture ?? "amd64",
      containerdStore: driverStatus.includes("io.containerd.snapshotter"),
    };
  })();
  checked.set(host, info);
  info.catch(() => checked.delete(host)); // not reachable now: ask again next time
  return info;
}

export interface StreamedRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Runs docker with stdout/stderr delivered line by line (for live step logs), or stdout as a stream
 * (for `docker cp ... -`), or stdin fed from a buffer/stream (for `docker load`).
 */
export function dockerStream(
  args: string[],
  opts: {
    onLine?: (line: string) => void;
    stdin?: Buffer | Readable;
    onStdout?: (s: Readable) => Promise<void>;
    /** Another Docker host for this call only (DOCKER_HOST), e.g. the stack's target. */
    host?: string;
    timeoutMs?: number;
  } = {},
): Promise<StreamedRun & { stderr: string }> {
  throwIfInterrupted();
  const { temporaries, signal: abort } = currentEngine();
  return new Promise((resolve, reject) => {
    const child = spawn("docker", args, {
      env: dockerEnv(opts.host || undefined),
      stdio: ["pipe", "pipe", "pipe"],
      timeout: opts.timeoutMs,
      ...abortOptions(false),
    });
    temporaries.children.add(child);
    child.on("close", () => temporaries.children.delete(child));
    let stderr = "";
    let pending = "";
    const lines = (chunk: Buffer) => {
      if (!opts.onLine) return;
      pending += chunk.toString("utf8");
      const parts = pending.split(/\r?\n/);
      pending = parts.pop() ?? "";
      for (const p of parts) opts.onLine(p);
    };
    const consumer = opts.onStdout ? opts.onStdout(child.stdout) : Promise.resolve();
    if (!opts.onStdout) child.stdout.on("data", lines);
    child.stderr.on("data", (c: Buffer) => {
      stderr = (stderr + c.toString("utf8")).slice(-16384);
      lines(c);
    });
    if (Buffer.isBuffer(opts.stdin)) child.stdin.end(opts.stdin);
    else if (opts.stdin) (opts.stdin as Readable).pipe(child.stdin);
    else child.stdin.end();
    child.on("error", (e) => {
      temporaries.children.delete(child);
      // An abort ends the child with an AbortError: report the engine's reason instead.
      reject(abort?.aborted && abort.reason instanceof Error ? abort.reason : e);
    });
    child.on("close", (exitCode, signal) => {
      if (pending && opts.onLine) opts.onLine(pending);
      consumer.then(
        () => resolve({ exitCode, signal, stderr }),
        (e: unknown) => reject(e),
      );
    });
  });
}
