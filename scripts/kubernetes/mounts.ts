// Mounts under WORKDIR: the kubelet bind-mounts its root dir onto itself, and Pod volumes, network
// namespaces and container root filesystems are mounted below it. stop.ts unmounts them, deepest first.
import { readFileSync } from "node:fs";
import { $ } from "./shell";
import type { Log } from "./shell";

/** Mount points (field 5 of /proc/self/mountinfo) that are dir or below it, deepest (longest) first. */
export function mountPointsUnder(mountinfo: string, dir: string): string[] {
  return mountinfo
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((mp): mp is string => mp !== undefined && (mp === dir || mp.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
}

export function mountsUnder(dir: string): string[] {
  return mountPointsUnder(readFileSync("/proc/self/mountinfo", "utf8"), dir);
}

/** Unmounts everything under w (lazily when busy), up to five rounds (a mount may hide another). */
export async function unmountAll(w: string, log: Log): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const mps = mountsUnder(w);
    if (!mps.length) return;
    for (const mp of mps) if (!(await $`umount ${mp}`.nothrow()).ok) await $`umount -l ${mp}`.nothrow();
    log(`unmounted ${mps.length} mount(s) under ${w}`);
  }
}
