// The node's address, the Pods' CNI network and the one FORWARD rule; made by start.ts, removed by stop.ts.
//
// Node IP: the node gets its own address, 10.245.0.1/32 on an interface "cybk8s0" made here.
// Not 127.0.0.1: the apiserver reaches the kubelet (logs, exec) at the node's InternalIP and refuses
// loopback there, and Pods' network namespaces cannot reach the host's loopback. Not the machine's own
// interface address either: that would put the kubelet's port on the machine's real network and tie
// the cluster to whatever eth0 happens to be. The interface is one end of a veth pair (peer
// "cybk8s0p", both up, neither attached anywhere): these machines' kernels have no "dummy" link type
// ("Unknown device type"); veth is always there (Docker needs it). It is local-only, always the same
// address, carries the WORKDIR as its alias (which tells a later start which WORKDIR to stop), and is
// gone after stop.
// Pods: bridge "cybk8sbr0" (10.244.0.1/24 gateway), host-local IPAM 10.244.0.0/24; the host reaches
// Pod IPs directly (no iptables rules needed for that); there is no kube-proxy.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { which } from "zx";
import type { Cluster } from "./settings";
import { $, type Log, succeeds } from "./shell";

export const FORWARD_COMMENT = "cybernode-k8s pods";

/**
 * The FORWARD rule (after -I/-D): Docker sets the FORWARD policy to DROP, and with br_netfilter
 * (bridge-nf-call-iptables=1, which Docker turns on) traffic from one Pod to another on the bridge
 * passes FORWARD too: let the bridge's own traffic through, as a cluster's network plugin does.
 */
export function forwardRule(bridge: string): string[] {
  return ["FORWARD", "-i", bridge, "-o", bridge, "-m", "comment", "--comment", FORWARD_COMMENT, "-j", "ACCEPT"];
}

export function cniConflistPath(c: Cluster): string {
  return join(c.workdir, "cni", "net.d", `10-${c.cniNetwork}.conflist`);
}

export function cniConflist(c: Cluster): string {
  return `{
  "cniVersion": "0.4.0",
  "name": "${c.cniNetwork}",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "${c.bridge}",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "${c.podCidr}" }]],
        "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "${join(c.workdir, "cni", "ipam")}"
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
`;
}

/** The alias in `ip -o link show DEV` output ("" when it has none). */
export function aliasIn(ipOneLine: string): string {
  return /.*alias (.*)$/m.exec(ipOneLine)?.[1] ?? "";
}

/** Interface names in `ip -o link show master BRIDGE` output ("veth1234@if3" → "veth1234"). */
export function linkNames(ipOneLine: string): string[] {
  return ipOneLine
    .split("\n")
    .map((line) => line.split(": ")[1]?.replace(/@.*/, ""))
    .filter((name): name is string => !!name);
}

export function linkExists(name: string): Promise<boolean> {
  return succeeds($`ip link show ${name}`);
}

/** The WORKDIR the node interface was made for ("" if none recorded, undefined if there is no such interface). */
export async function linkAlias(name: string): Promise<string | undefined> {
  const r = await $`ip -o link show ${name}`.nothrow();
  return r.ok ? aliasIn(r.stdout) : undefined;
}

/** Whether iptables is there and answers (it may lack the kernel's tables). */
async function iptablesWorks(): Promise<boolean> {
  return !!(await which("iptables", { nothrow: true })) && succeeds($`iptables -S FORWARD`);
}

export async function setUpNetwork(c: Cluster): Promise<void> {
  const peer = `${c.nodeIf}p`;
  await $`ip link add ${c.nodeIf} type veth peer name ${peer}`;
  await $`ip link set ${c.nodeIf} alias ${c.workdir}`;
  await $`ip addr add ${`${c.nodeIp}/32`} dev ${c.nodeIf}`;
  await $`ip link set ${peer} up`;
  await $`ip link set ${c.nodeIf} up`;
  if (await iptablesWorks()) await $`iptables -I ${forwardRule(c.bridge)}`;
  writeFileSync(cniConflistPath(c), cniConflist(c));
}

/** Whether the node interface exists and was made for WORKDIR w (or carries no WORKDIR). */
export async function nodeIfOurs(nodeIf: string, w: string): Promise<boolean> {
  const alias = await linkAlias(nodeIf);
  return alias !== undefined && (alias === "" || alias === w);
}

/** The FORWARD rule, the veths left on the bridge, the bridge, the node's interface (a veth pair: one end deletes both). */
export async function tearDownNetwork(n: { bridge: string; nodeIf: string; workdir: string }, log: Log): Promise<void> {
  while (await succeeds($`iptables -D ${forwardRule(n.bridge)}`)) log(`removed the FORWARD rule for ${n.bridge}`);
  if (await linkExists(n.bridge)) {
    const members = await $`ip -o link show master ${n.bridge}`.nothrow();
    for (const veth of linkNames(members.stdout)) await $`ip link del ${veth}`.nothrow();
    if (await succeeds($`ip link del ${n.bridge}`)) log(`deleted ${n.bridge}`);
  }
  await deleteNodeIfOurs(n.nodeIf, n.workdir, log);
}

export async function deleteNodeIfOurs(nodeIf: string, w: string, log: Log): Promise<void> {
  if ((await nodeIfOurs(nodeIf, w)) && (await succeeds($`ip link del ${nodeIf}`))) log(`deleted ${nodeIf}`);
}
