// The cluster's daemons as processes: each runs detached (own session, no terminal, stdin /dev/null,
// stdout and stderr to WORKDIR/logs/<name>.log), its pid in WORKDIR/pids/<name>.pid. They are ended
// by that pid, and only while the process's command line still names WORKDIR (a reused pid is left
// alone), never by name.
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ClusterError, type Log, sleep } from "./shell";

export const logPath = (w: string, name: string): string => join(w, "logs", `${name}.log`);
export const pidPath = (w: string, name: string): string => join(w, "pids", `${name}.pid`);

/** The last n lines of a text, each ending in a newline (as `tail -n`). */
export function lastLines(text: string, n: number): string {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines
    .slice(-n)
    .map((l) => `${l}\n`)
    .join("");
}

/** Starts argv detached; returns its pid (also written to WORKDIR/pids/<name>.pid). */
export function launch(w: string, name: string, argv: string[]): number {
  const log = openSync(logPath(w, name), "w");
  try {
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ["ignore", log, log] });
    child.on("error", () => {}); // reported below: no pid
    if (child.pid === undefined) throw new ClusterError(`cannot start ${name}: ${argv[0]} could not be run`);
    child.unref();
    writeFileSync(pidPath(w, name), `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface Waiting {
  workdir: string;
  timeoutSeconds: number;
  /** When the cluster's start began (Date.now()), for "… after Ns". */
  startedAt: number;
  log: Log;
}

/**
 * Polls check every 0.2 s until it holds; fails, blaming `name` (its log tail is shown), when the
 * timeout passes or name's process dies first.
 */
export async function waitFor(w: Waiting, name: string, what: string, check: () => Promise<boolean>): Promise<void> {
  const pid = Number(readFileSync(pidPath(w.workdir, name), "utf8"));
  const deadline = Date.now() + w.timeoutSeconds * 1000;
  while (!(await check())) {
    if (!alive(pid)) throw new ClusterError(`${name} exited while waiting for ${what}`, name);
    if (Date.now() >= deadline) throw new ClusterError(`${what} did not happen within ${w.timeoutSeconds}s`, name);
    await sleep(200);
  }
  w.log(`${what} after ${Math.floor((Date.now() - w.startedAt) / 1000)}s`);
}

/** Whether pid is alive and its command line names WORKDIR w. */
export function isOurs(pid: number, w: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").includes(w);
  } catch {
    return false;
  }
}

/** SIGTERM to the recorded pid, SIGKILL after graceSeconds; removes the pid file. */
export async function stopDaemon(w: string, name: string, graceSeconds: number, log: Log): Promise<void> {
  const file = pidPath(w, name);
  if (!existsSync(file)) return;
  const text = readFileSync(file, "utf8").trim();
  const pid = Number(text);
  if (/^\d+$/.test(text) && isOurs(pid, w)) {
    const t0 = Date.now();
    signal(pid, "SIGTERM");
    const deadline = t0 + graceSeconds * 1000;
    // Reading /proc is cheap: look often, most daemons are gone within milliseconds.
    while (isOurs(pid, w) && Date.now() < deadline) await sleep(20);
    if (isOurs(pid, w)) {
      log(`${name} (${pid}) ignored SIGTERM for ${graceSeconds}s: SIGKILL`);
      signal(pid, "SIGKILL");
      while (isOurs(pid, w)) await sleep(20);
    }
    log(`stopped ${name} (${pid}) in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  }
  rmSync(file, { force: true });
}

export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}
