// The kubelet: on the node IP port 16250, healthz on 127.0.0.1:16248.
// cgroup v1 needs failCgroupV1: false; oomScoreAdj 0 (no CAP_SYS_RESOURCE); image GC thresholds
// 100/99 so that imported images (there is no registry to pull them again) are never collected;
// eviction only when the disk is really full (other work shares this machine's disk). CoreDNS on the
// node IP is every Pod's resolver.
import { join } from "node:path";
import type { Cluster } from "./settings";

export function kubeletConfigPath(c: Cluster): string {
  return join(c.workdir, "kubelet-config.yaml");
}

export function kubeletConfig(c: Cluster): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${c.nodeIp}
port: ${c.ports.kubelet}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${c.ports.kubeletHealthz}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
containerRuntimeEndpoint: unix://${c.sock}
imageServiceEndpoint: unix://${c.sock}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
podLogsDir: ${join(c.workdir, "pod-logs")}
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: ${join(c.pki, "ca.crt")}
authorization:
  mode: Webhook
registerNode: true
serializeImagePulls: false
clusterDNS: [${c.nodeIp}]
clusterDomain: cluster.local
`;
}

export function kubeletCommand(c: Cluster): string[] {
  return [
    join(c.bin, "kubelet"),
    `--config=${kubeletConfigPath(c)}`,
    `--kubeconfig=${c.kubeconfig}`,
    `--root-dir=${join(c.workdir, "kubelet")}`,
    `--cert-dir=${join(c.workdir, "kubelet-pki")}`,
    `--hostname-override=${c.node}`,
    `--node-ip=${c.nodeIp}`,
  ];
}

export function kubeletHealthUrl(c: Cluster): string {
  return `http://127.0.0.1:${c.ports.kubeletHealthz}/healthz`;
}
