import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SKIP_DOCKER } from "./docker";

/** Podman tests are skipped only when this (or CYBERNODE_SKIP_DOCKER=1) says so; otherwise no Podman is a failure. */
export const SKIP_PODMAN = SKIP_DOCKER || process.env.CYBERNODE_SKIP_PODMAN === "1";

/**
 * Podman's Docker-compatible API service on a socket of the test's own (`podman system service`), the
 * way a Podman host serves it at /run/podman/podman.sock. Started by the tests and stopped after them.
 */
export interface PodmanHost {
  /** DOCKER_HOST / cybernode:host value. */
  host: string;
  /** Environment for docker CLI processes that should reach it. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export async function startPodmanService(): Promise<PodmanHost> {
  if (spawnSync("podman", ["--version"]).status !== 0)
    throw new Error(
      "the Podman tests need podman: bash scripts/start-podman.sh installs and prepares it (or set CYBERNODE_SKIP_PODMAN=1 to skip them; they are then counted as skipped)",
    );
  const dir = mkdtempSync(join(tmpdir(), "cybernode-podman-"));
  const host = `unix://${join(dir, "podman.sock")}`;
  const child: ChildProcess = spawn("podman", ["system", "service", "--time=0", host], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr?.on("data", (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
  const env = { ...process.env, DOCKER_HOST: host };
  const started = Date.now();
  while (Date.now() - started < 30_000) {
    if (child.exitCode !== null) break;
    if (spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], { env, timeout: 10_000 }).status === 0) {
      return {
        host,
        env,
        stop: async () => {
          child.kill("SIGTERM");
          await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`podman system service did not answer within 30 s (run bash scripts/start-podman.sh):\n${log}`);
}
