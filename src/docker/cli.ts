import { type ChildProcess, spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { currentDockerHost, currentEngine, throwIfInterrupted, withEngine } from "./engine";
import { engineGet, localSocket } from "./engineApi";

/**
 * All Docker access goes through the docker CLI, so DOCKER_HOST, DOCKER_CONTEXT and `docker context use`
 * apply exactly as they do for the user's own docker commands. Works with Engine 20.10 and later; no buildx.
 */

/**
 * A docker command that failed, from either engine: names the engine (when it answered before in this
 * process), the host, the command, its last stderr lines and, for failures we know, what to do.
 */
export class DockerError extends Error {
  constructor(
    readonly args: string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    const host = currentDockerHost();
    const engine = answered.get(host);
    const where = engine ? ` on ${engineLabel(engine)}${host ? ` at ${host}` : ""}` : host ? ` at ${host}` : "";
    const advice = dockerAdvice(stderr, engine?.kind);
    super(
      `docker ${args.slice(0, 3).join(" ")}${args.length > 3 ? " ..." : ""} failed${where} (exit ${exitCode}): ${stderr.trim().split("\n").slice(-5).join(" | ")}` +
        (advice ? `\n${advice}` : ""),
    );
    this.name = "DockerError";
  }
}

/** What to do about an engine error we recognise, or "" (then the engine's own words must do). Pure. */
export function dockerAdvice(stderr: string, kind: EngineKind | undefined): string {
  if (/setting rlimit|rlimit type/i.test(stderr))
    return (
      "The engine cannot raise the containers' open-files limit on this machine. For Podman add to /etc/containers/containers.conf:\n" +
      '  [containers]\n  default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n' +
      "(limits at or below `ulimit -Hn` / `ulimit -Hu`); `npx cybernode doctor` checks it."
    );
  if (/no space left on device/i.test(stderr))
    return "The engine's disk is full: free space (npx cybernode clean removes build-step images; docker system df shows the rest), then build again.";
  if (/permission denied.*\.sock/i.test(stderr))
    return kind === "podman"
      ? "This user may not use the Podman socket: run as root for /run/podman/podman.sock, or point DOCKER_HOST at your rootless socket (unix://$XDG_RUNTIME_DIR/podman/podman.sock)."
      : "This user may not use the Docker socket: sudo usermod -aG docker $USER (then log in again), or run as root.";
  if (/short-name|unqualified-search-registries/i.test(stderr))
    return "Podman did not find the image locally and will not guess a registry for a short name: load or tag the image on this host, or map the base image (CYBERNODE_BASE_IMAGES).";
  if (/Decode\(\): EOF/.test(stderr))
    return "Podman 4.3 refuses a body-less commit from the docker CLI; cybernode commits through the API on Podman, so this call came from elsewhere: update Podman to 4.4 or later.";
  return "";
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

export { currentDockerHost } from "./engine";

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
    super(`The container engine is not reachable through ${host}: ${detail.trim().split("\n").pop()}\n${startAdvice(current)}`);
    this.name = "DockerUnreachableError";
  }
}

/** How to start the engine a host URL points at. Pure. */
export function startAdvice(host: string): string {
  if (/podman/.test(host))
    return (
      "Start Podman's API service: sudo systemctl enable --now podman.socket (rootless: systemctl --user enable --now podman.socket), " +
      `or run: podman system service --time=0 ${host.startsWith("unix://") ? host : "unix:///run/podman/podman.sock"} &\nThen check with: docker info`
    );
  return "Start the daemon (sudo systemctl start docker, or run dockerd), or point DOCKER_HOST / `docker context use` at a running engine, then check with: docker info";
}

/**
 * Runs the docker CLI without a shell and collects its output. Plain child_process rather than zx:
 * loading zx would be most of what importing the builder costs, paid by every CLI run and every
 * provider plugin process, for calls that need no shell features (zx serves the test-cluster scripts).
 */
export function runDocker(
  args: string[],
  o: { input?: string | Buffer; timeoutMs?: number; host?: string; cleanup?: boolean } = {},
): Promise<{ exitCode: number | null; stdout: string; stderr: string; stdoutBytes?: Buffer }> {
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
    child.on("close", (exitCode) => {
      // The bytes as well, for output that is not text (a tar from docker cp).
      const stdoutBytes = Buffer.concat(out);
      resolve({ exitCode, stdout: stdoutBytes.toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), stdoutBytes });
    });
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
/** The engines that answered, by host, so that errors can name them without asking again. */
const answered = new Map<string, DaemonInfo>();

export interface DaemonInfo {
  /** Which engine answers the Docker API: Docker's dockerd or Podman's API service. */
  kind: EngineKind;
  serverVersion: string;
  /** Docker's name for the daemon's CPU architecture, e.g. amd64. */
  architecture: string;
  /** True when the daemon uses the containerd image store (image IDs are manifest digests there). */
  containerdStore: boolean;
  /** Podman run by a user rather than root (Docker reports false; rootless dockerd is not told apart). */
  rootless: boolean;
  /** SELinux labelling is on (bind mounts need :z to be readable in containers). */
  selinux: boolean;
}

export type EngineKind = "docker" | "podman";

/** "Docker 28.2.2" / "Podman 4.3.1": how messages name an engine. Pure. */
export function engineLabel(info: Pick<DaemonInfo, "kind" | "serverVersion">): string {
  return `${info.kind === "podman" ? "Podman" : "Docker"} ${info.serverVersion}`;
}

const ARCH: Record<string, string> = { x86_64: "amd64", aarch64: "arm64", armv7l: "arm", ppc64le: "ppc64le", s390x: "s390x" };

interface RawInfo {
  ServerVersion?: string;
  Architecture?: string;
  DriverStatus?: [string, string][];
  ServerErrors?: string[];
  SecurityOptions?: string[];
  /** Only Podman's /info has these two. */
  BuildahVersion?: string;
  Rootless?: boolean;
}

/** What /info (and, through the CLI, the server components of `docker version`) say about an engine. Pure. */
export function daemonInfoOf(info: RawInfo, components: { Name?: string }[] = []): DaemonInfo | null {
  if (!info.ServerVersion) return null;
  const podman = info.BuildahVersion !== undefined || components.some((c) => /podman/i.test(c.Name ?? ""));
  return {
    kind: podman ? "podman" : "docker",
    serverVersion: info.ServerVersion,
    architecture: ARCH[info.Architecture ?? ""] ?? info.Architecture ?? "amd64",
    containerdStore: JSON.stringify(info.DriverStatus ?? []).includes("io.containerd.snapshotter"),
    rootless: info.Rootless === true || (info.SecurityOptions ?? []).some((o) => o.includes("rootless")),
    selinux: (info.SecurityOptions ?? []).some((o) => o.includes("selinux")),
  };
}

/** A Podman API service on this machine: rootless when its socket belongs to a user; SELinux as the kernel says. */
function localPodmanInfo(version: string, socket: string): DaemonInfo {
  const { statSync, readFileSync } = require("node:fs") as typeof import("node:fs");
  let owner = 0;
  let enforce = "";
  try {
    owner = statSync(socket).uid;
    enforce = readFileSync("/sys/fs/selinux/enforce", "utf8").trim();
  } catch {
    // no socket owner to read (then daemonInfo's caller fails on its first call) or no SELinux
  }
  return {
    kind: "podman",
    serverVersion: version,
    architecture: ARCH[process.arch === "x64" ? "x86_64" : process.arch === "arm64" ? "aarch64" : process.arch] ?? process.arch,
    containerdStore: false,
    rootless: owner !== 0,
    selinux: enforce === "1",
  };
}

/** Checks once per process that the daemon answers; throws DockerUnreachableError with what to do. */
export function daemonInfo(): Promise<DaemonInfo> {
  const host = currentDockerHost();
  const known = checked.get(host);
  if (known) return known;
  const info = (async () => {
    // The Engine API on a local socket answers without starting a CLI process. Podman's /info is slow
    // (it measures its storage): its /_ping headers name it, and on a local socket the rest is this machine's.
    const ping = await engineGet("/_ping");
    const libpod = ping?.headers["libpod-api-version"];
    const socket = localSocket(host, host ? process.env : { ...process.env, DOCKER_HOST: undefined });
    if (typeof libpod === "string" && socket) return localPodmanInfo(libpod, socket);
    const api = ping ? await engineGet("/info") : undefined;
    let raw = api?.status === 200 ? (api.body as RawInfo) : undefined;
    let components: { Name?: string }[] = [];
    if (raw === undefined) {
      // The CLI's `info` drops fields it does not know (Podman's BuildahVersion): `version` names the engine.
      const [out, version] = await Promise.all([
        runDocker(["info", "--format", "{{json .}}"], { timeoutMs: 30_000 }),
        runDocker(["version", "--format", "{{json .Server.Components}}"], { timeoutMs: 30_000 }),
      ]);
      if (out.exitCode !== 0) throw new DockerUnreachableError(out.stderr || `docker info exited with ${out.exitCode}`);
      raw = JSON.parse(out.stdout) as RawInfo;
      try {
        components = version.exitCode === 0 ? ((JSON.parse(version.stdout) as { Name?: string }[]) ?? []) : [];
      } catch {
        components = [];
      }
    }
    const parsed = daemonInfoOf(raw, components);
    if (!parsed) throw new DockerUnreachableError((raw.ServerErrors ?? []).join("; ") || "no server answered");
    return parsed;
  })();
  checked.set(host, info);
  info.then((i) => answered.set(host, i)).catch(() => checked.delete(host)); // not reachable now: ask again next time
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
    /** Gets the child process (e.g. to let this process end before it does). */
    onSpawn?: (child: ChildProcess) => void;
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
    opts.onSpawn?.(child);
    let stderr = "";
    // One partial line per stream: a half line on stderr must not join one on stdout.
    const pending = { out: "", err: "" };
    const lines = (stream: "out" | "err", chunk: Buffer) => {
      if (!opts.onLine) return;
      const parts = (pending[stream] + chunk.toString("utf8")).split(/\r?\n/);
      pending[stream] = parts.pop() ?? "";
      for (const p of parts) opts.onLine(p);
    };
    const consumer = opts.onStdout ? opts.onStdout(child.stdout) : Promise.resolve();
    if (!opts.onStdout) child.stdout.on("data", (c: Buffer) => lines("out", c));
    child.stderr.on("data", (c: Buffer) => {
      stderr = (stderr + c.toString("utf8")).slice(-16384);
      lines("err", c);
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
      for (const rest of [pending.out, pending.err]) if (rest && opts.onLine) opts.onLine(rest);
      consumer.then(
        () => resolve({ exitCode, signal, stderr }),
        (e: unknown) => reject(e),
      );
    });
  });
}
