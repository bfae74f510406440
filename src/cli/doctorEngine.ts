import type { DaemonInfo } from "../docker/cli";

/**
 * What `cybernode doctor` checks about the engine itself, Docker or Podman. Pure: the caller reads the
 * machine (containers.conf, /proc/self/limits, systemd, sockets) and passes what it found.
 */

export interface Check {
  ok: boolean;
  what: string;
  detail: string;
  /** Works, but something a node operator should know (printed as "warn"). */
  warn?: boolean;
}

export interface EngineFacts {
  info: DaemonInfo;
  /** The host URL as given ("" = the default context). */
  host: string;
  /** The engine runs on this machine (a unix socket), so its files and limits are readable here. */
  local: boolean;
  /** Text of containers.conf and its drop-ins, in the order Podman reads them. */
  containersConf: string[];
  /** Hard limits of this machine for open files and processes (from /proc/self/limits). */
  hardLimits: { nofile: number; nproc: number };
  /** `systemctl is-enabled podman-restart.service`, or null without systemd. */
  restartService: string | null;
  /** This user may read and write the socket (null when not a local socket). */
  socketAccess: boolean | null;
}

/** Podman's own defaults for rootful containers: more than many machines' hard limits. */
const PODMAN_DEFAULT_LIMITS = { nofile: 1_048_576, nproc: 4_194_304 };

/** The `default_ulimits` entries of containers.conf texts (the last file that sets them wins). Pure. */
export function defaultUlimits(confs: string[]): Map<string, { soft: number; hard: number }> {
  let found: string[] | null = null;
  for (const text of confs) {
    const m = /^\s*default_ulimits\s*=\s*\[([^\]]*)\]/m.exec(text);
    if (m) found = [...m[1].matchAll(/"([^"]*)"/g)].map((x) => x[1]);
  }
  const limits = new Map<string, { soft: number; hard: number }>();
  for (const entry of found ?? []) {
    const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(entry.trim());
    if (m) limits.set(m[1], { soft: Number(m[2]), hard: Number(m[3] ?? m[2]) });
  }
  return limits;
}

/** The line to add for the limits a machine allows. Pure. */
function ulimitFix(hard: { nofile: number; nproc: number }): string {
  const nofile = Math.min(hard.nofile, 1024);
  const nproc = Math.min(hard.nproc, 1024);
  return `add to /etc/containers/containers.conf:  [containers]  default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`;
}

export function engineChecks(f: EngineFacts): Check[] {
  const { info } = f;
  const via = f.host || "the default context";
  if (info.kind === "docker")
    return [{ ok: true, what: "engine", detail: `Docker ${info.serverVersion} (${info.architecture}) via ${via}` }];
  const checks: Check[] = [
    {
      ok: true,
      what: "engine",
      detail: `Podman ${info.serverVersion} (${info.architecture}), ${info.rootless ? "rootless" : "rootful"}, via ${via}`,
    },
  ];
  if (f.socketAccess === false)
    checks.push({
      ok: false,
      what: "socket",
      detail: `this user may not use ${f.host}: run as root for the rootful socket, or use your rootless one (unix://$XDG_RUNTIME_DIR/podman/podman.sock)`,
    });
  if (f.local && !info.rootless) {
    const set = defaultUlimits(f.containersConf);
    const needed = (["nofile", "nproc"] as const).filter((k) => {
      const have = set.get(k);
      return have ? have.hard > f.hardLimits[k] : PODMAN_DEFAULT_LIMITS[k] > f.hardLimits[k];
    });
    checks.push(
      needed.length
        ? {
            ok: false,
            what: "ulimits",
            detail: `containers would fail with "error setting rlimit" (this machine's hard limits: nofile ${f.hardLimits.nofile}, nproc ${f.hardLimits.nproc}): ${ulimitFix(f.hardLimits)}`,
          }
        : {
            ok: true,
            what: "ulimits",
            detail: `container limits fit this machine's (nofile ${f.hardLimits.nofile}, nproc ${f.hardLimits.nproc})`,
          },
    );
  }
  if (info.rootless)
    checks.push({
      ok: false,
      what: "rootless",
      detail:
        "container uids map to subordinate uids on the host, so a data folder owned by the node's uid is not writable inside: " +
        "run nodes on rootful Podman (unix:///run/podman/podman.sock), or chown the folder with `podman unshare chown UID:UID DIR`",
    });
  if (f.local)
    checks.push(
      f.restartService === null
        ? {
            ok: true,
            warn: true,
            what: "restarts",
            detail:
              "no systemd: restart policies bring crashed nodes back, but nothing starts them at boot and health checks do not run on their own (podman healthcheck run NAME runs one)",
          }
        : f.restartService === "enabled"
          ? { ok: true, what: "restarts", detail: "podman-restart.service starts containers with a restart policy at boot" }
          : {
              ok: false,
              what: "restarts",
              detail: "nodes will not come back after a reboot: sudo systemctl enable podman-restart.service",
            },
    );
  return checks;
}
