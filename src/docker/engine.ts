import { AsyncLocalStorage } from "node:async_hooks";
import { type ChildProcess, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";

/**
 * The engine a piece of work runs against: which Docker host, the AbortSignal that cancels it, and the
 * temporaries it must clean up. Scoped with AsyncLocalStorage, so two builds for two hosts (or two
 * cancellable jobs) can run in one process; nothing here touches process.env or installs signal
 * handlers: entry points (the CLI, the provider process) decide what a signal does (see interrupts.ts).
 */

/** A build or command stopped by its AbortSignal (Ctrl-C, SIGTERM, a caller's abort()). */
export class Interrupted extends Error {
  constructor(readonly why: string) {
    super(`interrupted (${why}); temporary containers are removed. Run the command again: finished steps are cached.`);
    this.name = "Interrupted";
  }
}

/**
 * The CLI arguments that remove containers, with their anonymous volumes: every run image declares VOLUME
 * /cyberdata, so a container made from one has such a volume, and `docker rm` without -v leaves it behind.
 * Named volumes (the build caches) are never removed by -v.
 */
export const REMOVE_CONTAINERS = ["rm", "-f", "-v"] as const;

/** What one engine must clean up: temporary containers (name → host), scratch folders, running docker children. */
export class Temporaries {
  readonly containers = new Map<string, string>();
  /** Containers whose removal failed (daemon down); retried by the next build and at exit. */
  readonly unremoved = new Map<string, string>();
  readonly scratch = new Set<string>();
  /** A `docker cp` holds its container, so `docker rm -f` would wait for it: children are killed first. */
  readonly children = new Set<ChildProcess>();

  get count(): number {
    return this.containers.size + this.unremoved.size;
  }

  /** Kills docker children, removes scratch folders and every temporary container now (signal and exit paths). */
  removeAllSync(envFor: (host: string) => NodeJS.ProcessEnv): void {
    for (const c of this.children) c.kill("SIGKILL");
    for (const p of this.scratch) rmSync(p, { recursive: true, force: true });
    this.scratch.clear();
    const byHost = new Map<string, string[]>();
    for (const [name, host] of [...this.containers, ...this.unremoved]) byHost.set(host, [...(byHost.get(host) ?? []), name]);
    for (const [host, names] of byHost)
      spawnSync("docker", [...REMOVE_CONTAINERS, ...names], { env: envFor(host), stdio: "ignore", timeout: 30_000 });
    this.containers.clear();
    this.unremoved.clear();
  }
}

export interface Engine {
  /** Docker host URL; undefined = DOCKER_HOST of the environment, "" = the docker CLI's default. */
  host?: string;
  signal?: AbortSignal;
  temporaries: Temporaries;
}

/** The engine of work started outside any withEngine scope (library calls, tests). */
export const defaultEngine: Engine = { temporaries: new Temporaries() };

const scope = new AsyncLocalStorage<Engine>();

/** The Docker host docker calls go to here: the engine's host, else DOCKER_HOST, else "" (the default). */
export function currentDockerHost(): string {
  return currentEngine().host ?? process.env.DOCKER_HOST ?? "";
}

export function currentEngine(): Engine {
  return scope.getStore() ?? defaultEngine;
}

/** Runs fn (and everything it awaits) on an engine made of the current one with `over` applied. */
export function withEngine<T>(over: Partial<Engine>, fn: () => Promise<T>): Promise<T> {
  return scope.run({ ...currentEngine(), ...over }, fn);
}

/** Throws the abort reason when the current engine's work was cancelled. */
export function throwIfInterrupted(): void {
  const s = currentEngine().signal;
  if (s?.aborted) throw s.reason instanceof Error ? s.reason : new Interrupted(String(s.reason));
}
