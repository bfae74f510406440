import { existsSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { homedir } from "node:os";
import { join } from "node:path";
import { currentDockerHost } from "./cli";

/**
 * Read-only questions to a local Docker engine over its unix socket (GET on the Engine API), about 2 ms
 * each instead of 25-60 ms for starting the docker CLI (measured). Only for a local unix socket; for
 * ssh://, tcp:// and docker contexts every answer is `undefined` and callers use the CLI as before, as
 * they do when the socket answers anything unexpected.
 */

/** GET path on a host's local socket (default: the current host): status and parsed JSON, or undefined when not available. */
export async function engineGet(path: string, host: string = currentDockerHost()): Promise<{ status: number; body: unknown } | undefined> {
  // "" is the CLI's default socket or context; a scoped host overrides DOCKER_HOST.
  const socket = localSocket(host, host ? process.env : { ...process.env, DOCKER_HOST: undefined });
  if (!socket) return undefined;
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path, method: "GET", timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
        } catch {
          resolve(undefined);
        }
      });
      res.on("error", () => resolve(undefined));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(undefined));
    req.end();
  });
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

/** `repository:tag` of every tagged image of a repository, as `docker image ls --format {{.Repository}}:{{.Tag}} repo` lists them. */
export async function tagsOfRepository(repo: string): Promise<string[] | undefined> {
  const r = await engineGet(`/images/json?filters=${filters({ reference: [repo] })}`);
  if (r?.status !== 200 || !Array.isArray(r.body)) return undefined;
  return (r.body as { RepoTags?: string[] | null }[]).flatMap((i) => (i.RepoTags ?? []).filter((t) => t.startsWith(`${repo}:`)));
}
