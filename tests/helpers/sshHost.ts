import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./host";
import { startSecondDaemon, type SecondDaemon } from "./secondDaemon";

/**
 * A "remote cybernode host" on this machine: Debian's sshd on 127.0.0.1 (own config, host key and
 * authorized key, made here) whose sessions talk to a second dockerd (SetEnv DOCKER_HOST). The docker
 * CLI reaches it as ssh://root@cybernode-remote through an `ssh` wrapper placed first on PATH that adds
 * the test's ssh_config (port, key, no known_hosts prompts).
 */
export interface SshHost {
  /** DOCKER_HOST / cybernode:host value. */
  host: string;
  /** Environment for processes that should reach it (PATH with the ssh wrapper). */
  env: NodeJS.ProcessEnv;
  /** The engine behind it, for checks that bypass ssh. */
  engine: SecondDaemon;
  /** A host URL whose key is not authorized there (for the auth-failure case). */
  badKeyHost: string;
  stop(): Promise<void>;
}

const run = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr || r.error}`);
};

/** `engine`: an engine of the caller's (e.g. a Podman service) for the sessions instead of a second dockerd; the caller stops it. */
export async function startSshHost(given?: SecondDaemon): Promise<SshHost> {
  const engine = given ?? (await startSecondDaemon());
  const dir = mkdtempSync(join(tmpdir(), "cybernode-ssh-"));
  const port = await freePort();
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "client_key")]);
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "other_key")]);
  run("cp", [join(dir, "client_key.pub"), join(dir, "authorized_keys")]);
  mkdirSync("/run/sshd", { recursive: true }); // sshd's privilege separation folder
  writeFileSync(
    join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(dir, "host_key")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      `SetEnv DOCKER_HOST=${engine.host}`,
      "",
    ].join("\n"),
  );
  const sshd: ChildProcess = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  sshd.stderr?.on("data", (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
  const hostBlock = (alias: string, key: string) =>
    [
      `Host ${alias}`,
      "  HostName 127.0.0.1",
      `  Port ${port}`,
      "  User root",
      `  IdentityFile ${key}`,
      "  IdentitiesOnly yes",
      "  StrictHostKeyChecking no",
      "  UserKnownHostsFile /dev/null",
      "  BatchMode yes",
      "  LogLevel ERROR",
      "",
    ].join("\n");
  writeFileSync(
    join(dir, "ssh_config"),
    hostBlock("cybernode-remote", join(dir, "client_key")) + hostBlock("cybernode-badkey", join(dir, "other_key")),
  );
  mkdirSync(join(dir, "bin"));
  writeFileSync(join(dir, "bin", "ssh"), `#!/bin/sh\nexec /usr/bin/ssh -F ${join(dir, "ssh_config")} "$@"\n`);
  chmodSync(join(dir, "bin", "ssh"), 0o755);
  const env = { ...process.env, PATH: `${join(dir, "bin")}:${process.env.PATH}` };
  const host = "ssh://root@cybernode-remote";
  const stop = async () => {
    sshd.kill("SIGTERM");
    if (!given) await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const started = Date.now();
  while (Date.now() - started < 30_000) {
    const r = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], {
      env: { ...env, DOCKER_HOST: host },
      encoding: "utf8",
      timeout: 20_000,
    });
    if (r.status === 0) return { host, env, engine, badKeyHost: "ssh://root@cybernode-badkey", stop };
    if (sshd.exitCode !== null) break;
    await new Promise((r2) => setTimeout(r2, 300));
  }
  await stop();
  throw new Error(`the ssh test host did not answer (is openssh-server installed? bash scripts/start-docker.sh installs it):\n${log}`);
}
