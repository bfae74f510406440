// Stops the test cluster that start.ts WORKDIR started and removes every trace of it: in order the
// kubelet, the Pods' containers (and their shims) of the cluster's own containerd, that containerd, the
// PV provisioner loop, kube-scheduler, kube-controller-manager, kube-apiserver and etcd last; then it
// unmounts what is mounted under WORKDIR (the kubelet bind-mounts its root dir onto itself, Pod
// volumes, network namespaces, container root filesystems), removes what the kubelet, containerd and
// CNI wrote outside WORKDIR when this cluster made it (/var/lib/kubelet/device-plugins,
// /var/log/containers links, /var/lib/cni/results entries, /run/containerd/runc/k8s.io, the kubepods
// cgroups), deletes the FORWARD rule, the Pod bridge and the node's interface (veth pair), and removes
// WORKDIR. Processes are ended by their recorded pid (checked to still be this cluster's), never by name.
// Idempotent: running it again, or on a half-started cluster, is fine.
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { clusterKeys } from "./envFile";
import { cleanHostPaths, removeKubepodsCgroups } from "./hostPaths";
import { mountsUnder, unmountAll } from "./mounts";
import { deleteNodeIfOurs, linkExists, nodeIfOurs, tearDownNetwork } from "./network";
import { endPodContainers, killKubepodsProcesses, killLeftoverShims, otherKubelet } from "./pods";
import { stopDaemon } from "./processes";
import { NETWORK } from "./settings";
import { $, type Log } from "./shell";

/** What stop needs to know of a cluster: defaults as start.ts sets them, overridden by WORKDIR/env. */
export interface StopTarget {
  workdir: string;
  sock: string;
  bridge: string;
  nodeIf: string;
  cniNetwork: string;
}

export function stopTarget(w: string, envText: string | undefined): StopTarget {
  const env = clusterKeys(envText ?? "");
  return {
    workdir: w,
    sock: env.CYBERNODE_K8S_CONTAINERD ?? join(w, "containerd", "containerd.sock"),
    bridge: env.CYBERNODE_K8S_BRIDGE ?? NETWORK.bridge,
    nodeIf: env.CYBERNODE_K8S_NODE_IF ?? NETWORK.nodeIf,
    cniNetwork: env.CYBERNODE_K8S_CNI_NETWORK ?? NETWORK.cniNetwork,
  };
}

/** Whether stop refuses to touch w (the root, or anything but a plain absolute path). */
export function refusedWorkdir(w: string): boolean {
  return w === "/" || !/^\/[A-Za-z0-9/._-]+$/.test(w);
}

/** `realpath -m`: absolute, symlinks of the existing part resolved, the missing rest kept. */
export function realpathMissing(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(realpathMissing(parent), basename(abs));
  }
}

/** Daemons in stop order with their grace periods (seconds), after the kubelet, the Pods and containerd. */
export const CONTROL_PLANE_STOP: [string, number][] = [
  ["coredns", 5],
  ["provisioner", 5],
  ["kube-scheduler", 10],
  ["kube-controller-manager", 10],
  ["kube-apiserver", 15],
  ["etcd", 15],
];

async function stopProcesses(t: StopTarget, foreign: boolean, log: Log): Promise<void> {
  const w = t.workdir;
  await stopDaemon(w, "kubelet", 15, log); // first, so that it restarts nothing
  await endPodContainers(t.sock, log);
  await stopDaemon(w, "containerd", 15, log);
  killLeftoverShims(t.sock, log);
  if (!foreign && !otherKubelet()) await killKubepodsProcesses(log);
  for (const [name, grace] of CONTROL_PLANE_STOP) await stopDaemon(w, name, grace, log);
}

/** Stops the cluster of WORKDIR w (absolute, not refused); returns the exit code. */
export async function stopCluster(w: string, log: Log, logError: Log): Promise<number> {
  const t = stopTarget(w, existsSync(join(w, "env")) ? readFileSync(join(w, "env"), "utf8") : undefined);
  if (!isDir(w)) {
    await deleteNodeIfOurs(t.nodeIf, w, log);
    if ((await linkExists(t.bridge)) && !(await linkExists(t.nodeIf)) && (await $`ip link del ${t.bridge}`.nothrow()).ok)
      log(`deleted ${t.bridge}`);
    log(`${w} does not exist: nothing else to stop`);
    return 0;
  }
  // Another cluster's node interface (one cluster runs at a time): then this WORKDIR belongs to a
  // cluster that never started or is long gone, and nothing shared (bridge, cgroups, paths outside
  // WORKDIR) may be touched; only its own processes are stopped and the folder is removed.
  const foreign = (await linkExists(t.nodeIf)) && !(await nodeIfOurs(t.nodeIf, w));
  if (foreign) log(`${t.nodeIf} belongs to another cluster: stopping only what ${w} recorded`);
  await stopProcesses(t, foreign, log);
  await unmountAll(w, log);
  if (!foreign) {
    await cleanHostPaths(w, t.cniNetwork);
    if (!otherKubelet()) await removeKubepodsCgroups();
    await tearDownNetwork(t, log);
  }
  const left = mountsUnder(w);
  if (left.length) {
    logError(`ERROR: still mounted under ${w}, not removing it:`);
    for (const mp of left) process.stderr.write(`${mp}\n`);
    return 1;
  }
  await $`rm -rf --one-file-system ${w}`.nothrow();
  log(`stopped; ${w} removed`);
  return 0;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
