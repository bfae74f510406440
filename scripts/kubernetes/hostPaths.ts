// Paths the kubelet, containerd and CNI write outside WORKDIR whatever the flags. start.ts records
// which existed before (WORKDIR/preexisting), so stop.ts removes only what this cluster made.
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { mountsUnder } from "./mounts";
import { $ } from "./shell";

export const HOST_PATHS = [
  "/var/lib/kubelet",
  "/var/lib/kubelet/device-plugins",
  "/var/log/containers",
  "/var/log/pods",
  "/var/lib/cni",
  "/var/lib/cni/results",
  "/run/containerd/runc",
  "/run/containerd/runc/k8s.io",
];

/** WORKDIR/preexisting: the HOST_PATHS that exist, one a line. */
export function preexistingText(exists: (p: string) => boolean): string {
  return HOST_PATHS.filter(exists)
    .map((p) => `${p}\n`)
    .join("");
}

export function recordPreexisting(w: string): void {
  writeFileSync(join(w, "preexisting"), preexistingText(existsSync));
}

/** Whether the cluster made path p: it is not listed in WORKDIR/preexisting (an unreadable list says "made"). */
export function madeBy(preexisting: string, p: string): boolean {
  return !preexisting.split("\n").includes(p);
}

/** libcni's result cache for one network: <network>-<sandbox id>-eth0 and containerd's cni-loopback-<sandbox id>-lo. */
export function cniResultFiles(names: string[], network: string): string[] {
  return names
    .filter((f) => f.startsWith(`${network}-`))
    .flatMap((f) => {
      const id = f.slice(network.length + 1).replace(/-[^-]*$/, "");
      return [f, `cni-loopback-${id}-lo`];
    });
}

const quietly = (f: () => void): void => {
  try {
    f();
  } catch {}
};

/** The kubelet's links to this cluster's Pod logs (dangling once WORKDIR is gone). */
function removeLinksInto(dir: string, w: string): void {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    quietly(() => lstatSync(p).isSymbolicLink() && readlinkSync(p).startsWith(`${w}/`) && unlinkSync(p));
  }
}

/** What the cluster wrote outside WORKDIR w, when it made it. */
export async function cleanHostPaths(w: string, cniNetwork: string): Promise<void> {
  let preexisting = "";
  quietly(() => (preexisting = readFileSync(join(w, "preexisting"), "utf8")));
  const made = (p: string) => madeBy(preexisting, p);
  if (existsSync("/var/lib/kubelet/device-plugins") && made("/var/lib/kubelet/device-plugins"))
    rmSync("/var/lib/kubelet/device-plugins", { recursive: true, force: true });
  if (existsSync("/var/lib/kubelet") && made("/var/lib/kubelet") && !mountsUnder("/var/lib/kubelet").length)
    await $`rm -rf --one-file-system /var/lib/kubelet`.nothrow();
  for (const dir of ["/var/log/containers", "/var/log/pods"]) {
    if (!isDir(dir)) continue;
    removeLinksInto(dir, w);
    if (made(dir)) quietly(() => rmdirSync(dir));
  }
  if (isDir("/var/lib/cni")) cleanCni(cniNetwork, made);
  if (isDir("/run/containerd/runc/k8s.io") && made("/run/containerd/runc/k8s.io")) {
    rmSync("/run/containerd/runc/k8s.io", { recursive: true, force: true });
    if (made("/run/containerd/runc")) quietly(() => rmdirSync("/run/containerd/runc"));
  }
}

function cleanCni(network: string, made: (p: string) => boolean): void {
  const results = "/var/lib/cni/results";
  let names: string[] = [];
  quietly(() => (names = readdirSync(results)));
  for (const f of cniResultFiles(names, network)) rmSync(join(results, f), { force: true });
  rmSync(`/var/lib/cni/networks/${network}`, { recursive: true, force: true });
  if (made(results)) quietly(() => rmdirSync(results));
  if (made("/var/lib/cni")) {
    quietly(() => rmdirSync("/var/lib/cni/networks"));
    quietly(() => rmdirSync("/var/lib/cni"));
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The kubelet's cgroups (cgroupfs driver: /kubepods in every hierarchy), removed deepest first when empty. */
export async function removeKubepodsCgroups(): Promise<void> {
  let hierarchies: string[] = [];
  quietly(() => (hierarchies = readdirSync("/sys/fs/cgroup")));
  for (const ctl of hierarchies) {
    const top = join("/sys/fs/cgroup", ctl, "kubepods");
    if (isDir(top)) await $`find ${top} -depth -type d -exec rmdir {} +`.nothrow();
  }
}
