import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A second Docker engine on this machine, standing in for another host: its own socket, data root,
 * exec root and its own bridge (no iptables, no masquerading). Reached with DOCKER_HOST=unix://…
 * Not `--bridge none`: a dockerd started that way deletes docker0, the main engine's bridge.
 */
export interface SecondDaemon {
  host: string;
  stop(): Promise<void>;
}

/** A bridge of the test's own for the second engine (a /24 in 10.213.0.0/16, not routed anywhere). */
export function makeBridge(): string {
  const n = Math.floor(Math.random() * 250) + 1;
  const name = `cybtest${n}`;
  for (const args of [
    ["link", "add", name, "type", "bridge"],
    ["addr", "add", `10.213.${n}.1/24`, "dev", name],
    ["link", "set", name, "up"],
  ]) {
    const r = spawnSync("ip", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
  }
  return name;
}

export async function startSecondDaemon(): Promise<SecondDaemon> {
  const root = mkdtempSync(join(tmpdir(), "cybernode-dockerd2-"));
  const sock = join(root, "docker.sock");
  const host = `unix://${sock}`;
  const bridge = makeBridge();
  const child: ChildProcess = spawn(
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
    ],
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
          spawnSync("ip", ["link", "del", bridge], { stdio: "ignore" });
          rmSync(root, { recursive: true, force: true });
        },
      };
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  child.kill("SIGKILL");
  spawnSync("ip", ["link", "del", bridge], { stdio: "ignore" });
  throw new Error(`a second dockerd did not start within 60 s (is dockerd installed? run bash scripts/start-docker.sh):\n${log}`);
}
