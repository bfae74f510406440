import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeBridge } from "./secondDaemon";

/**
 * A private Docker engine whose data root survives a stop, so a test can stop the daemon in the
 * middle of work and start it again on the same images and containers (what a host reboot or a
 * `systemctl restart docker` does). Same isolation as secondDaemon.ts: its own socket, data root,
 * exec root and its own bridge (no iptables, no masquerading). Reached with DOCKER_HOST=<host>.
 * Never `--bridge none`: a dockerd started that way deletes docker0, the main engine's bridge.
 */
export interface RestartableDaemon {
  host: string;
  /** Folder holding data/, exec/, the socket and the pid file. */
  root: string;
  /** Starts dockerd on the fixed data root and waits until it answers (at most 60 s). */
  start(): Promise<void>;
  /** Sends SIGTERM (or the given signal) and waits for dockerd to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  running(): boolean;
  /** Runs the docker CLI against this engine. */
  docker(args: string[], input?: Buffer | string): { status: number | null; stdout: string; stderr: string };
  /** Stops the daemon if it runs, unmounts and removes the data root. */
  dispose(): Promise<void>;
}

/** How long dockerd waits for containers to stop on shutdown (its default is 15 s). */
const SHUTDOWN_TIMEOUT = "3";

export function createRestartableDaemon(): RestartableDaemon {
  const root = mkdtempSync(join(tmpdir(), "cybernode-dockerd-r-"));
  const host = `unix://${join(root, "docker.sock")}`;
  let child: ChildProcess | undefined;
  /** Made on the first start, kept across restarts, deleted by dispose(). */
  let bridge: string | undefined;
  let log = "";
  const env = () => ({ ...process.env, DOCKER_HOST: host });
  const docker = (args: string[], input?: Buffer | string) => {
    const r = spawnSync("docker", args, { env: env(), input, encoding: "utf8", maxBuffer: 64 << 20 });
    return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  };
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    const c = child;
    if (!c || !running()) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill(signal);
    await exited;
  };

  return {
    host,
    root,
    running,
    docker,
    stop,
    async start() {
      if (running()) return;
      log = "";
      bridge ??= makeBridge();
      const c = spawn(
        "dockerd",
        [
          "--host",
          host,
          "--data-root",
          join(root, "data"),
          "--exec-root",
          join(root, "exec"),
          "--pidfile",
          join(root, "dockerd.pid"),
          "--bridge",
          bridge,
          "--iptables=false",
          "--ip-masq=false",
          "--shutdown-timeout",
          SHUTDOWN_TIMEOUT,
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      child = c;
      c.stderr?.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
      const started = Date.now();
      while (Date.now() - started < 60_000) {
        if (!running()) break;
        if (spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { env: env(), stdio: "ignore" }).status === 0) return;
        await new Promise((r) => setTimeout(r, 300));
      }
      c.kill("SIGKILL");
      throw new Error(`dockerd on ${root} did not start within 60 s:\n${log}`);
    },
    async dispose() {
      await stop();
      spawnSync("umount", ["-R", join(root, "data")], { stdio: "ignore" });
      spawnSync("umount", ["-R", join(root, "exec")], { stdio: "ignore" });
      if (bridge) spawnSync("ip", ["link", "del", bridge], { stdio: "ignore" });
      rmSync(root, { recursive: true, force: true });
    },
  };
}
