import { hostname } from "node:os";
import { currentDockerHost, docker, dockerMaybe, runDocker } from "./cli";
import { currentEngine, REMOVE_CONTAINERS, throwIfInterrupted } from "./engine";
import { containerNamesWithLabel, engineRequest } from "./engineApi";

/**
 * Temporary containers and scratch folders of the builder: named so that a later process can tell
 * its own from a dead process's, tracked by the current engine (engine.ts) and removed on success and
 * failure here, and on SIGINT/SIGTERM by the entry point's handlers (interrupts.ts).
 */

/** Label on every container and step image this project creates, for `cybernode clean`. */
export const TEMP_LABEL = "cybernode.temp";

/** Cleanups that go on after the work that started them returned (build containers exiting, see steps.ts). */
const background = new Set<Promise<void>>();

/** Lets `cleanup` (which never rejects) finish on its own; backgroundCleanups() waits for it. */
export function inBackground(cleanup: Promise<void>): void {
  background.add(cleanup);
  void cleanup.finally(() => background.delete(cleanup));
}

/** Resolves once every background cleanup of this process ended (for tests and the bench, between runs). */
export async function backgroundCleanups(): Promise<void> {
  // Their child processes are unref'd: a timer keeps this process alive while it waits for them.
  const keepAlive = setInterval(() => {}, 1000);
  try {
    while (background.size) await Promise.all([...background]);
  } finally {
    clearInterval(keepAlive);
  }
}

/** Registers a container name for removal if the work is interrupted before it is cleaned up. */
export function trackTemporary(name: string): void {
  currentEngine().temporaries.containers.set(name, currentDockerHost());
}

/** Registers a scratch folder for removal on interruption; returns the function that unregisters it. */
export function trackScratch(path: string): () => void {
  const { scratch } = currentEngine().temporaries;
  scratch.add(path);
  return () => void scratch.delete(path);
}

/** Removes a temporary container now (ignoring "no such container"), also when the work was interrupted. */
export async function removeTemporary(name: string): Promise<void> {
  const { containers, unremoved } = currentEngine().temporaries;
  // On the host it was created on, whichever host this call runs for.
  const host = containers.get(name) ?? unremoved.get(name) ?? currentDockerHost();
  const removed = await removeContainer(name, host);
  containers.delete(name);
  if (removed) unremoved.delete(name);
  else unremoved.set(name, host);
}

/**
 * Removes the container with its anonymous volumes (see REMOVE_CONTAINERS), through the Engine API where
 * this machine reaches it (a local socket: no CLI process), else the CLI. True once the
 * container is gone, also when it was already.
 */
async function removeContainer(name: string, host: string): Promise<boolean> {
  const api = await engineRequest("DELETE", `/containers/${encodeURIComponent(name)}?force=1&v=1`, { host, timeoutMs: 120_000 });
  if (api && (api.status === 204 || api.status === 404)) return true;
  const out = await runDocker([...REMOVE_CONTAINERS, name], { host, cleanup: true });
  return out.exitCode === 0 || /no such container/i.test(out.stderr);
}

/**
 * Creates the temporary container `t` of `image`, never started (its files are read): with `entrypoint`
 * and `cmd` if given, else the image's. Through the Engine API where reachable, else `docker create`
 * (which also gives the familiar error for a missing image).
 */
export async function createStopped(
  t: { name: string; createArgs: string[] },
  image: string,
  o: { entrypoint?: string; cmd?: string[] } = {},
): Promise<void> {
  const body = {
    Image: image,
    Labels: { [TEMP_LABEL]: "1" },
    ...(o.entrypoint ? { Entrypoint: [o.entrypoint] } : {}),
    ...(o.cmd ? { Cmd: o.cmd } : {}),
  };
  const api = await engineRequest("POST", `/containers/create?name=${encodeURIComponent(t.name)}`, { body });
  if (api?.status === 201) return;
  await docker(["create", ...t.createArgs, ...(o.entrypoint ? ["--entrypoint", o.entrypoint] : []), image, ...(o.cmd ?? [])]);
}

/** Retries the removals that failed earlier in this engine (e.g. while the daemon restarted). */
export async function removeUnremovedTemporaries(): Promise<void> {
  for (const name of [...currentEngine().temporaries.unremoved.keys()]) await removeTemporary(name);
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
  const names =
    (await containerNamesWithLabel(`${TEMP_LABEL}=1`)) ??
    ((await dockerMaybe(["ps", "-a", "--filter", `label=${TEMP_LABEL}=1`, "--format", "{{.Names}}"])) ?? "").split("\n").filter(Boolean);
  const orphans = names.filter((n) => {
    const t = parseTemporaryName(n);
    return t !== null && t.host === HOST_TAG && t.pid !== process.pid && !processAlive(t.pid);
  });
  if (orphans.length) await dockerMaybe([...REMOVE_CONTAINERS, ...orphans]);
  return orphans;
}

/**
 * The one temporary-container lifecycle: a fresh name (tracked, so SIGINT/SIGTERM remove it too), the
 * `--name`/label arguments to create it with, and removal when fn ends, whether it succeeded or threw.
 */
export async function withTemporary<T>(purpose: string, fn: (t: { name: string; createArgs: string[] }) => Promise<T>): Promise<T> {
  throwIfInterrupted();
  const name = temporaryName(purpose);
  trackTemporary(name);
  try {
    return await fn({ name, createArgs: ["--name", name, "--label", `${TEMP_LABEL}=1`] });
  } finally {
    await removeTemporary(name);
  }
}
