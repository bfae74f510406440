import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { hostname } from "node:os";
import { currentDockerHost, dockerEnv, dockerMaybe, killDockerChildren, runDocker } from "./cli";

/**
 * Temporary containers and scratch folders of the builder: named so that a later process can tell
 * its own from a dead process's, and removed on success, failure, SIGINT and SIGTERM.
 */

/** Temporary container name → the Docker host it was created on. */
const temporary = new Map<string, string>();
const scratchDirs = new Set<string>();
let handlersInstalled = false;

/** Label on every container and step image this project creates, for `cybernode clean`. */
export const TEMP_LABEL = "cybernode.temp";

function removeTemporarySync(): void {
  killDockerChildren();
  for (const p of scratchDirs) rmSync(p, { recursive: true, force: true });
  scratchDirs.clear();
  if (temporary.size + unremoved.size === 0) return;
  const byHost = new Map<string, string[]>();
  for (const [name, host] of [...temporary, ...unremoved]) byHost.set(host, [...(byHost.get(host) ?? []), name]);
  for (const [host, names] of byHost)
    spawnSync("docker", ["rm", "-f", ...names], { env: dockerEnv(host), stdio: "ignore", timeout: 30_000 });
  temporary.clear();
  unremoved.clear();
}

function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      process.stderr.write(`\ncybernode: ${sig}: removing ${temporary.size} temporary container(s)\n`);
      removeTemporarySync();
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
  process.on("exit", removeTemporarySync);
}

/** Registers a container name for removal if the process is interrupted before it is cleaned up. */
export function trackTemporary(name: string): void {
  installSignalHandlers();
  temporary.set(name, currentDockerHost());
}

/** Registers a scratch folder for removal on interruption; returns the function that unregisters it. */
export function trackScratch(path: string): () => void {
  installSignalHandlers();
  scratchDirs.add(path);
  return () => void scratchDirs.delete(path);
}

/** Temporaries whose removal failed because the daemon did not answer; retried by the next build and at exit. */
const unremoved = new Map<string, string>();

/** Removes a temporary container now (ignoring "no such container"). */
export async function removeTemporary(name: string): Promise<void> {
  // On the host it was created on, whichever host this call runs for.
  const host = temporary.get(name) ?? unremoved.get(name) ?? currentDockerHost();
  const out = await runDocker(["rm", "-f", name], { host });
  temporary.delete(name);
  if (out.exitCode === 0 || /no such container/i.test(out.stderr)) unremoved.delete(name);
  else unremoved.set(name, host);
}

/** Retries the removals that failed earlier in this process (e.g. while the daemon restarted). */
export async function removeUnremovedTemporaries(): Promise<void> {
  for (const name of [...unremoved.keys()]) await removeTemporary(name);
}

/** This machine's name as it goes into temporary container names ([a-z0-9], at most 24 characters). */
export const HOST_TAG = (
  hostname()
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "") || "host"
).slice(0, 24);

/** A unique name for a temporary container of this process: purpose, pid, machine, random. */
export function temporaryName(purpose: string): string {
  return `cybernode-tmp-${purpose}-${process.pid}-${HOST_TAG}-${Math.random().toString(36).slice(2, 8)}`;
}

/** The pid and machine of a temporary container's name, or null for other names. Pure. */
export function parseTemporaryName(name: string): { pid: number; host: string } | null {
  const m = /^cybernode-tmp-[a-z]+-(\d+)-([a-z0-9]+)-[a-z0-9]+$/.exec(name);
  return m ? { pid: Number(m[1]), host: m[2] } : null;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // exists, owned by someone else
  }
}

/**
 * Removes temporary containers left by builder processes of this machine that no longer run (e.g. ended
 * while the daemon was down). Containers of other machines and of live processes are left alone.
 */
export async function removeOrphanedTemporaries(): Promise<string[]> {
  const names = ((await dockerMaybe(["ps", "-a", "--filter", `label=${TEMP_LABEL}=1`, "--format", "{{.Names}}"])) ?? "")
    .split("\n")
    .filter(Boolean);
  const orphans = names.filter((n) => {
    const t = parseTemporaryName(n);
    return t !== null && t.host === HOST_TAG && t.pid !== process.pid && !processAlive(t.pid);
  });
  if (orphans.length) await dockerMaybe(["rm", "-f", ...orphans]);
  return orphans;
}

/**
 * The one temporary-container lifecycle: a fresh name (tracked, so SIGINT/SIGTERM remove it too), the
 * `--name`/label arguments to create it with, and removal when fn ends, whether it succeeded or threw.
 */
export async function withTemporary<T>(purpose: string, fn: (t: { name: string; createArgs: string[] }) => Promise<T>): Promise<T> {
  const name = temporaryName(purpose);
  trackTemporary(name);
  try {
    return await fn({ name, createArgs: ["--name", name, "--label", `${TEMP_LABEL}=1`] });
  } finally {
    await removeTemporary(name);
  }
}
