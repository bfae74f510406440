// Ending the Pods' processes when the cluster stops: through the cluster's own containerd while it
// answers, then whatever is left (shims of a containerd that died first, processes in /kubepods).
// The containerd that dockerd uses and Docker's containers are never touched.
import { type Dirent, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { signal } from "./processes";
import { $, type Log, sleep, succeeds } from "./shell";

/** ctr against the cluster's containerd (k8s.io namespace), each call cut off after 20 s. */
const ctr = (sock: string, args: string[]) => $`timeout 20 ctr --address ${sock} -n k8s.io ${args}`;

/** Whether `ctr tasks ls` output shows a RUNNING task (columns TASK PID STATUS). */
export function anyRunning(tasksLs: string): boolean {
  return tasksLs
    .split("\n")
    .slice(1)
    .some((line) => line.trim().split(/\s+/)[2] === "RUNNING");
}

/** The Pods' containers: SIGTERM, up to 10 s, SIGKILL, then delete the tasks (unmounts root filesystems, ends the shims). */
export async function endPodContainers(sock: string, log: Log): Promise<void> {
  if (!isSocket(sock) || !(await succeeds(ctr(sock, ["version"])))) return;
  const tasks = (await ctr(sock, ["tasks", "ls", "-q"]).nothrow()).stdout.split("\n").filter(Boolean);
  if (!tasks.length) return;
  for (const t of tasks) await ctr(sock, ["tasks", "kill", "-a", "-s", "SIGTERM", t]).nothrow();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && anyRunning((await ctr(sock, ["tasks", "ls"]).nothrow()).stdout)) await sleep(200);
  for (const t of tasks) {
    await ctr(sock, ["tasks", "kill", "-a", "-s", "SIGKILL", t]).nothrow();
    await ctr(sock, ["tasks", "rm", "-f", t]).nothrow();
  }
  log(`ended ${tasks.length} container(s)`);
}

function isSocket(p: string): boolean {
  try {
    return statSync(p).isSocket();
  } catch {
    return false;
  }
}

/** Command lines of every process: pid → argv. */
function processes(): Map<number, string[]> {
  const all = new Map<number, string[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      all.set(Number(entry), readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0"));
    } catch {}
  }
  return all;
}

/** A containerd shim started by the containerd at sock (its command line has "-address SOCK"). */
export function isShimOf(argv: string[], sock: string): boolean {
  const cmd = `${argv.join(" ")} `;
  return cmd.includes("containerd-shim") && cmd.includes(`-address ${sock} `);
}

/** Shims of this containerd still alive (it died before its tasks). */
export function killLeftoverShims(sock: string, log: Log): void {
  for (const [pid, argv] of processes()) if (isShimOf(argv, sock) && signal(pid, "SIGKILL")) log(`killed leftover shim ${pid}`);
}

/** Any kubelet running on this machine (by then ours is stopped). */
export function otherKubelet(): boolean {
  return [...processes().values()].some((argv) => argv[0].split("/").pop() === "kubelet");
}

/** Any process left in the Pods' cgroups (/kubepods; only when no other kubelet runs here). */
export async function killKubepodsProcesses(log: Log): Promise<void> {
  const top = "/sys/fs/cgroup/pids/kubepods";
  if (!existsSync(top)) return;
  for (let round = 0; round < 3; round++) {
    const pids = cgroupProcs(top);
    if (!pids.length) return;
    for (const pid of pids) signal(pid, "SIGKILL");
    log(`killed leftover Pod processes: ${pids.join(" ")}`);
    await sleep(500);
  }
}

function cgroupProcs(dir: string): number[] {
  const pids: number[] = [];
  const walk = (d: string) => {
    let entries: Dirent[] = [];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {}
    for (const e of entries) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name === "cgroup.procs") pids.push(...readLines(join(d, e.name)).map(Number));
    }
  };
  walk(dir);
  return pids;
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}
