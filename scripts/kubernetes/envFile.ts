// WORKDIR/env: KEY=value lines, one per line, no quoting. Written first with READY=0 (stop.ts reads it
// to find the socket, bridge and interfaces of a half-started cluster), rewritten with READY=1 at the end.
// tests/helpers/kubeCluster.ts and users (`set -a; . WORKDIR/env`) read it.
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Cluster } from "./settings";

export function envFileText(c: Cluster, ready: boolean): string {
  const lines: [string, string][] = [
    ["KUBECONFIG", c.kubeconfig],
    ["CYBERNODE_K8S_WORKDIR", c.workdir],
    ["CYBERNODE_K8S_VERSION", c.version],
    ["CYBERNODE_K8S_API", c.apiUrl],
    ["CYBERNODE_K8S_CONTAINERD", c.sock],
    ["CYBERNODE_K8S_NODE", c.node],
    ["CYBERNODE_K8S_NODE_IP", c.nodeIp],
    ["CYBERNODE_K8S_STORAGECLASS", c.storageClass],
    ["CYBERNODE_K8S_PAUSE_IMAGE", c.pauseImage],
    ["CYBERNODE_K8S_POD_CIDR", c.podCidr],
    ["CYBERNODE_K8S_BRIDGE", c.bridge],
    ["CYBERNODE_K8S_NODE_IF", c.nodeIf],
    ["CYBERNODE_K8S_CNI_NETWORK", c.cniNetwork],
    ["CYBERNODE_K8S_READY", ready ? "1" : "0"],
  ];
  return lines.map(([k, v]) => `${k}=${v}\n`).join("");
}

/** Replaces WORKDIR/env at once (written beside it, then renamed). */
export function writeEnvFile(c: Cluster, ready: boolean): void {
  const partial = join(c.workdir, "env.partial");
  writeFileSync(partial, envFileText(c, ready));
  renameSync(partial, join(c.workdir, "env"));
}

/** The CYBERNODE_K8S_* keys of an env file (the value is everything after the first "="). */
export function clusterKeys(text: string): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at < 0) continue;
    const key = line.slice(0, at);
    if (/^CYBERNODE_K8S_[A-Z_]+$/.test(key)) keys[key] = line.slice(at + 1);
  }
  return keys;
}
