import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { currentDockerHost, type DaemonInfo, daemonInfo } from "../docker/cli";
import { localSocket } from "../docker/engineApi";
import { allowOnly, type ParsedArgs } from "./args";
import { type Check, type EngineFacts, engineChecks } from "./doctorEngine";

export type { Check } from "./doctorEngine";

/** Looks a user up in /etc/passwd text. Pure. */
export function passwdUid(passwd: string, user: string): number | null {
  for (const line of passwd.split("\n")) {
    const f = line.split(":");
    if (f[0] === user && f.length >= 3 && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return null;
}

/** Whether a folder with this owner/mode is writable by uid (ignoring ACLs and supplementary groups). Pure. */
export function writableBy(st: { uid: number; gid: number; mode: number }, uid: number): boolean {
  if (uid === 0) return true;
  if (st.uid === uid) return (st.mode & 0o300) === 0o300;
  if (st.gid === uid) return (st.mode & 0o030) === 0o030;
  return (st.mode & 0o003) === 0o003;
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
  if (!existsSync(dataRoot)) {
    checks.push({
      ok: false,
      what: "data root",
      detail: `${dataRoot} does not exist: sudo mkdir -p ${dataRoot} && sudo chown ${user}: ${dataRoot}`,
    });
  } else {
    const st = statSync(dataRoot);
    const ok =
      st.isDirectory() &&
      (cyberUid === null
        ? (() => {
            try {
              accessSync(dataRoot, constants.W_OK);
              return true;
            } catch {
              return false;
            }
          })()
        : writableBy(st, cyberUid));
    checks.push({
      ok,
      what: "data root",
      detail: ok
        ? `${dataRoot} is writable by ${cyberUid ?? "this user"}`
        : `${dataRoot} is not writable by uid ${cyberUid}: sudo chown ${user}: ${dataRoot}`,
    });
  }
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
