import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A second Docker engine on this machine, standing in for another host: its own socket, data root and
 * exec root, no networking of its own (bridge none, no iptables). Reached with DOCKER_HOST=unix://…
 */
export interface SecondDaemon {
  host: string;
  stop(): Promise<void>;
}

export async function startSecondDaemon(): Promise<SecondDaemon> {
  const root = mkdtempSync(join(tmpdir(), "cybernode-dockerd2-"));
  const sock = join(root, "docker.sock");
  const host = `unix://${sock}`;
  const child: ChildProcess = spawn(
    "dockerd",
    ["--host", host, "--data-root", join(root, "data"), "--exec-root", join(root, "exec"), "--pidfile", join(root, "dockerd.pid"), "--bridge", "none", "--iptables=false", "--ip-masq=false"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr?.on("data", (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
  const started = Date.now();
  while (Date.now() - started < 60_000) {
    if (child.exitCode !== null) break;
    if (spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { env: { ...process.env, DOCKER_HOST: host } }).status === 0) {
      return {
        host,
        stop: async () => {
          child.kill("SIGTERM");
          await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
          spawnSync("umount", ["-R", join(root, "data")], { stdio: "ignore" });
          rmSync(root, { recursive: true, force: true });
        },
      };
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  child.kill("SIGKILL");
  throw new Error(`a second dockerd did not start within 60 s (is dockerd installed? run bash scripts/start-docker.sh):\n${log}`);
}
