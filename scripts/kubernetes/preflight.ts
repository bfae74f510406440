// What start.ts checks before it changes anything: root, an empty plain WORKDIR, the binaries and
// tools, and no other cluster (the interfaces and ports are fixed: one cluster at a time).
import { accessSync, constants, mkdirSync, readdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { which } from "zx";
import { linkAlias, linkExists } from "./network";
import { type Cluster, INSTALL_COMMAND, REQUIRED_BINARIES, REQUIRED_TOOLS, STOP_COMMAND, workdirProblem } from "./settings";
import { $, ClusterError } from "./shell";

/** Makes WORKDIR when missing; returns it absolute with symlinks resolved, if it can hold a cluster. */
export function prepareWorkdir(arg: string): string {
  if (process.getuid?.() !== 0) throw new ClusterError("must run as root (containerd, kubelet, network interfaces)");
  mkdirSync(arg, { recursive: true });
  const w = realpathSync(arg);
  const problem = workdirProblem(w);
  if (problem) throw new ClusterError(problem);
  if (readdirSync(w).length) throw new ClusterError(`WORKDIR ${w} is not empty`);
  return w;
}

/** /usr/bin/kubectl (Debian's, which install-kubernetes.sh installs), else the one on PATH. */
export async function findKubectl(): Promise<string> {
  if (executable("/usr/bin/kubectl")) return "/usr/bin/kubectl";
  const found = await which("kubectl", { nothrow: true });
  if (!found) throw new ClusterError("kubectl is missing");
  return found;
}

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function checkInstalled(c: Cluster): Promise<void> {
  for (const b of REQUIRED_BINARIES)
    if (!executable(join(c.bin, b))) throw new ClusterError(`${join(c.bin, b)} is missing: run ${INSTALL_COMMAND}`);
  for (const t of REQUIRED_TOOLS)
    if (!(await which(t, { nothrow: true }))) throw new ClusterError(`${t} is missing: run ${INSTALL_COMMAND}`);
}

/** The message when the node interface exists; alias is the WORKDIR it carries ("" if none). */
export function nodeIfTaken(nodeIf: string, alias: string): string {
  return `interface ${nodeIf} exists: a cluster already runs (or was not stopped): ${STOP_COMMAND} ${alias || "<its WORKDIR>"}`;
}

/** Ports the cluster listens on at loopback (the kubelet's own port is on the node IP, new each time). */
export function loopbackPorts(c: Cluster): number[] {
  const p = c.ports;
  return [p.etcd, p.etcdPeer, p.api, p.controllerManager, p.scheduler, p.kubeletHealthz, p.criStream];
}

export async function checkNoOtherCluster(c: Cluster): Promise<void> {
  const alias = await linkAlias(c.nodeIf);
  if (alias !== undefined) throw new ClusterError(nodeIfTaken(c.nodeIf, alias));
  if (await linkExists(c.bridge))
    throw new ClusterError(`interface ${c.bridge} exists (a cluster was not stopped?): ip link del ${c.bridge}`);
  for (const port of loopbackPorts(c)) {
    const filter = `sport = :${port}`;
    if (!(await $`ss -Hltn ${filter}`).stdout.trim()) continue;
    const holder = (await $`ss -Hltnp ${filter}`).stdout.split("\n")[0];
    throw new ClusterError(`port ${port} is in use: ${holder}`);
  }
}
