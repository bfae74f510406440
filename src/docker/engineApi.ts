import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { type ClientRequest, request } from "node:http";
import { homedir } from "node:os";
import { join } from "node:path";
import { Duplex, type Readable } from "node:stream";
import { currentDockerHost, currentEngine } from "./engine";

/**
 * Questions to an engine's Engine API without the docker CLI, so no process starts per question.
 * Reads go only to a local unix socket; for ssh://, tcp:// and docker contexts every answer is
 * `undefined` and callers use the CLI, as they do when the socket answers anything unexpected. The few calls the docker CLI cannot make for every engine
 * (Podman 4.3's commit, see commit.ts) may also go over ssh (`docker system dial-stdio`, as the CLI does).
 */

export interface EngineAnswer {
  status: number;
  /** Parsed JSON, or the text when the answer is not JSON. */
  body: unknown;
  /** Response headers, names in lower case. */
  headers: Record<string, string | string[] | undefined>;
}

export interface EngineRequest {
  /** Default: the current host. */
  host?: string;
  /** Sent as JSON. */
  body?: unknown;
  timeoutMs?: number;
  /** Also reach ssh:// hosts (one ssh process per request: only for calls the CLI cannot make). */
  overSsh?: boolean;
}

/** GET path on a host's local socket (default: the current host): status and parsed JSON, or undefined when not available. */
export function engineGet(path: string, host: string = currentDockerHost()): Promise<EngineAnswer | undefined> {
  return engineRequest("GET", path, { host });
}

/** The local socket for a host: "" is the CLI's default socket or context; a scoped host overrides DOCKER_HOST. */
const socketOf = (host: string) => localSocket(host, host ? process.env : { ...process.env, DOCKER_HOST: undefined });

/** An answer's body: parsed JSON, or the text when it is not JSON (an error text). */
function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : "";
  } catch {
    return text;
  }
}

/** One Engine API request; undefined when the host cannot be reached this way (or did not answer). */
export async function engineRequest(
  method: "GET" | "POST" | "DELETE",
  path: string,
  o: EngineRequest = {},
): Promise<EngineAnswer | undefined> {
  const host = o.host ?? currentDockerHost();
  const socket = socketOf(host);
  const ssh = !socket && o.overSsh ? sshDialCommand(host || process.env.DOCKER_HOST || "") : null;
  if (!socket && !ssh) return undefined;
  const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { Host: "docker" };
    if (payload) Object.assign(headers, { "Content-Type": "application/json", "Content-Length": payload.length });
    const options = { path, method, headers, timeout: o.timeoutMs ?? 10_000 };
    const req: ClientRequest = request(
      socket ? { ...options, socketPath: socket } : { ...options, createConnection: () => dialOverSsh(ssh as string[]) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: parseBody(Buffer.concat(chunks).toString("utf8")), headers: res.headers }),
        );
        res.on("error", () => resolve(undefined));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(undefined));
    req.end(payload);
  });
}

/**
 * GET with the answer's body handed to `onBody` as a stream when the status is 200 (e.g. a container's
 * files as a tar stream, as `docker cp c:/path -` prints it, without starting the CLI). Local socket
 * only; undefined when that is not available, so the caller uses the CLI.
 */
export function engineGetStream(
  path: string,
  onBody: (body: Readable) => Promise<void>,
  host: string = currentDockerHost(),
): Promise<{ status: number; error?: string } | undefined> {
  const socket = socketOf(host);
  if (!socket) return Promise.resolve(undefined);
  // An interrupted build (SIGINT/SIGTERM aborts the engine) must not wait for a long archive to finish.
  const { signal } = currentEngine();
  return new Promise((resolve, reject) => {
    let answered = false;
    const options = { path, method: "GET", headers: { Host: "docker" }, socketPath: socket, timeout: 600_000, signal };
    const req = request(options, (res) => {
      answered = true;
      const status = res.statusCode ?? 0;
      if (status === 200) {
        onBody(res).then(() => resolve({ status }), reject);
        return;
      }
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString("utf8")));
      res.on("end", () => {
        const body = parseBody(text);
        resolve({ status, error: typeof body === "string" ? body.trim() : ((body as { message?: string }).message ?? text.trim()) });
      });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    // Not reachable at all: the CLI may still be (a context, a proxy); a failure mid-answer is an error,
    // and so is an abort (with the engine's reason, as the docker children report it).
    req.on("error", (e) => {
      if (signal?.aborted) reject(signal.reason instanceof Error ? signal.reason : e);
      else if (answered) reject(e);
      else resolve(undefined);
    });
    req.end();
  });
}

/**
 * The ssh command the docker CLI runs for an ssh:// host, or null for other hosts. Pure.
 * ssh://user@host:port → ssh -T -l user -p port -- host docker system dial-stdio
 */
export function sshDialCommand(host: string): string[] | null {
  if (!host.startsWith("ssh://")) return null;
  let u: URL;
  try {
    u = new URL(host);
  } catch {
    return null;
  }
  if (!u.hostname) return null;
  const args = ["-o", "ConnectTimeout=30", "-T"];
  if (u.username) args.push("-l", decodeURIComponent(u.username));
  if (u.port) args.push("-p", u.port);
  return [...args, "--", u.hostname, "docker", "system", "dial-stdio"];
}

/** A byte stream to the remote engine through `ssh … docker system dial-stdio`. */
function dialOverSsh(args: string[]): Duplex {
  const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "ignore"] });
  const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
  stream.on("close", () => child.kill());
  child.on("error", (e) => stream.destroy(e));
  return stream;
}

/** The unix socket the docker CLI would use for this host, when that can be known without it. Pure but for reads. */
export function localSocket(host: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const h = host || env.DOCKER_HOST || "";
  if (h) return h.startsWith("unix://") ? h.slice("unix://".length) : null;
  if (env.DOCKER_CONTEXT) return null;
  const config = join(env.DOCKER_CONFIG ?? join(homedir(), ".docker"), "config.json");
  if (existsSync(config)) {
    try {
      const ctx = (JSON.parse(readFileSync(config, "utf8")) as { currentContext?: string }).currentContext;
      if (ctx && ctx !== "default") return null;
    } catch {
      return null;
    }
  }
  return existsSync("/var/run/docker.sock") ? "/var/run/docker.sock" : null;
}

const filters = (f: Record<string, string[]>) => encodeURIComponent(JSON.stringify(f));

/** Names of all containers (running or not) with a label, as `docker ps -a --filter label=…` lists them. */
export async function containerNamesWithLabel(label: string): Promise<string[] | undefined> {
  const r = await engineGet(`/containers/json?all=1&filters=${filters({ label: [label] })}`);
  if (r?.status !== 200 || !Array.isArray(r.body)) return undefined;
  return (r.body as { Names?: string[] }[]).flatMap((c) => (c.Names ?? []).slice(0, 1).map((n) => n.replace(/^\//, "")));
}

/**
 * Which of `refs` the engine has, asking for each at once (`GET /images/{ref}/json`, which stays cheap
 * where listing a repository with a reference filter grows with the daemon's images), or
 * undefined when the engine cannot be asked this way or answers anything but found / not found.
 */
export async function presentImages(refs: string[]): Promise<Set<string> | undefined> {
  const answers = await Promise.all(refs.map((r) => engineGet(`/images/${encodeURI(r)}/json`)));
  if (answers.some((a) => a?.status !== 200 && a?.status !== 404)) return undefined;
  return new Set(refs.filter((_, i) => answers[i]?.status === 200));
}
