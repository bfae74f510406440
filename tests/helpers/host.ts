import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { docker } from "../../src/docker/cli";

/** Every path under dir (files and folders). */
export function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return lstatSync(p).isDirectory() ? [p, ...walk(p)] : [p];
  });
}

/** Real uid of a running container's main process, read from /proc on the host (local engine only). */
export async function processUid(container: string): Promise<number> {
  const pid = await docker(["inspect", "--format", "{{.State.Pid}}", container]);
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("Uid:"))!;
  return Number(line.split(/\s+/)[1]);
}

/** Ports this process handed out already, so two calls never return the same one. */
const handedOut = new Set<number>();

/** The kernel's ephemeral range: ports any `listen(0)` or outgoing connection may take at any time. */
function ephemeralLow(): number {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

const bindable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "0.0.0.0", () => srv.close(() => resolve(true)));
  });

/**
 * A TCP port that is free right now and stays free: chosen below the ephemeral range, because a port
 * from `listen(0)` can be taken a moment later by Pulumi's own gRPC servers (engine, language host,
 * plugins listen on ephemeral ports), which made a stack's preflight refuse it as held by a process.
 */
export async function freePort(): Promise<number> {
  const low = 20000;
  const high = ephemeralLow() - 1;
  for (let i = 0; i < 200; i++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free TCP port between ${low} and ${high} after 200 tries: is something holding them all?`);
}
