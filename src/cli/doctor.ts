import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { currentDockerHost, type DaemonInfo, daemonInfo } from "../docker/cli";
import { localSocket } from "../docker/engineApi";
import { allowOnly, type ParsedArgs } from "./args";
import { type Check, type EngineFacts, engineChecks } from "./doctorEngine";

export type { Check } from "./doctorEngine";

import { passwdUid } from "../stack/passwd";
export { passwdUid };

/**
 * The data root as `pulumi up` will use it: the engine makes each `<dataRoot>/<node>` and hands it to the
 * nodes' uid (dataDirOps.ts), so neither this user's nor uid's rights on it matter; a file in its place
 * or a read-only file system do. `at`: what is at the data root, or at its nearest existing parent. Pure.
 */
export function dataRootCheck(dataRoot: string, at: { path: string; kind: "dir" | "file"; writable: string }, uid: number | null): Check {
  const owner = uid === null ? "the nodes' uid" : `uid ${uid}`;
  if (at.kind === "file")
    return { ok: false, what: "data root", detail: `${at.path} is a file: choose another data root (cybernode:dataRoot)` };
  if (at.writable === "EROFS")
    return { ok: false, what: "data root", detail: `${at.path} is on a read-only file system: choose a data root on a writable disk` };
  return {
    ok: true,
    what: "data root",
    detail: `${at.path === dataRoot ? `${dataRoot} exists` : `${dataRoot} does not exist yet`}: pulumi up makes each node's folder in it through the engine, owned by ${owner} (no sudo needed)`,
  };
}

/** What is at `path`, or at its nearest existing parent: the facts dataRootCheck reads. */
function nearestFacts(path: string): { path: string; kind: "dir" | "file"; writable: string } {
  let p = path;
  while (!existsSync(p) && p !== "/") p = p.slice(0, p.lastIndexOf("/")) || "/";
  let writable = "ok";
  try {
    accessSync(p, constants.W_OK);
  } catch (e) {
    writable = (e as NodeJS.ErrnoException).code ?? "error";
  }
  return { path: p, kind: statSync(p).isDirectory() ? "dir" : "file", writable };
}

/** Reads what the engine checks need from this machine. */
function engineFacts(info: DaemonInfo): EngineFacts {
  const host = currentDockerHost();
  const socket = localSocket(host);
  const read = (p: string) => {
    try {
      return readFileSync(p, "utf8");
    } catch {
      return "";
    }
  };
  const dropIns = (dir: string) => {
    try {
      return readdirSync(dir)
        .filter((f) => f.endsWith(".conf"))
        .sort()
        .map((f) => read(join(dir, f)));
    } catch {
      return [];
    }
  };
  const limits = read("/proc/self/limits");
  const hard = (name: string) => {
    const m = new RegExp(`^Max ${name}\\s+\\S+\\s+(\\S+)`, "m").exec(limits);
    return !m || m[1] === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  };
  const systemctl = spawnSync("systemctl", ["is-enabled", "podman-restart.service"], { encoding: "utf8", timeout: 5000 });
  const systemd = existsSync("/run/systemd/system") && !systemctl.error;
  let socketAccess: boolean | null = null;
  if (socket) {
    try {
      accessSync(socket, constants.R_OK | constants.W_OK);
      socketAccess = true;
    } catch {
      socketAccess = false;
    }
  }
  return {
    info,
    host,
    local: socket !== null,
    containersConf: [
      read("/usr/share/containers/containers.conf"),
      read("/etc/containers/containers.conf"),
      ...dropIns("/etc/containers/containers.conf.d"),
    ],
    hardLimits: { nofile: hard("open files"), nproc: hard("processes") },
    restartService: systemd ? systemctl.stdout.trim() || "disabled" : null,
    socketAccess,
  };
}

export async function runDoctor(user: string, dataRoot: string): Promise<Check[]> {
  const checks: Check[] = [];
  let kind: DaemonInfo["kind"] | undefined;
  try {
    const info = await daemonInfo();
    kind = info.kind;
    checks.push(...engineChecks(engineFacts(info)));
  } catch (e) {
    checks.push({ ok: false, what: "engine", detail: (e as Error).message });
  }
  const uid = process.getuid?.() ?? -1;
  const groups = (() => {
    try {
      return (
        readFileSync("/etc/group", "utf8")
          .split("\n")
          .find((l) => l.startsWith("docker:")) ?? ""
      );
    } catch {
      return "";
    }
  })();
  const me = process.env.USER ?? process.env.LOGNAME ?? "";
  const inDocker = groups.split(":")[3]?.split(",").includes(me) ?? false;
  // Podman has no docker group: its socket check above says whether this user may use it.
  if (kind !== "podman")
    checks.push({
      ok: uid === 0 || inDocker,
      what: "permissions",
      detail:
        uid === 0
          ? "running as root"
          : inDocker
            ? `${me} is in the docker group`
            : `${me || `uid ${uid}`} is not root and not in the docker group: sudo usermod -aG docker ${me || "$USER"} (then log in again)`,
    });
  const passwd = existsSync("/etc/passwd") ? readFileSync("/etc/passwd", "utf8") : "";
  const cyberUid = passwdUid(passwd, user);
  checks.push({
    ok: cyberUid !== null,
    what: `user ${user}`,
    detail:
      cyberUid !== null
        ? `uid ${cyberUid} (use it as cybernode:uid / docker run -u ${cyberUid})`
        : `no such user: sudo useradd --create-home ${user}, or set cybernode:uid in the stack`,
  });
  checks.push(dataRootCheck(dataRoot, nearestFacts(dataRoot), cyberUid));
  const enforce = existsSync("/sys/fs/selinux/enforce") ? readFileSync("/sys/fs/selinux/enforce", "utf8").trim() : "";
  checks.push({
    ok: true,
    what: "selinux",
    detail:
      enforce === "1"
        ? "enforcing: bind mounts need the :z option (set cybernode:selinux true)"
        : "not enforcing: bind mounts need no relabel",
  });
  return checks;
}

export async function cmdDoctor(args: ParsedArgs): Promise<number> {
  allowOnly(args, [], ["user", "data-root"]);
  const user = args.options.get("user") ?? "cyber";
  const dataRoot = args.options.get("data-root") ?? `/home/${user}/cyberdata`;
  const checks = await runDoctor(user, dataRoot);
  for (const c of checks) process.stdout.write(`${c.ok ? (c.warn ? "warn" : "ok  ") : "FAIL"} ${c.what.padEnd(12)} ${c.detail}\n`);
  return checks.every((c) => c.ok) ? 0 : 1;
}
