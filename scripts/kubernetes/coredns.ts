// The cluster DNS: CoreDNS on the node IP port 53 serves cluster.local, so Pods find each other's
// Services by name (headless Services resolve to Pod IPs, which needs no kube-proxy). Names in the
// cluster only (no upstream: these machines reach no public resolver); the kubelet points every Pod's
// resolv.conf at it.
import { join } from "node:path";
import type { Cluster } from "./settings";

export function corefilePath(c: Cluster): string {
  return join(c.workdir, "Corefile");
}

export function corefile(c: Cluster): string {
  return `cluster.local:53 {
    bind ${c.nodeIp}
    errors
    kubernetes cluster.local {
        kubeconfig ${c.kubeconfig}
    }
}
`;
}

export function corednsCommand(c: Cluster): string[] {
  return [join(c.bin, "coredns"), "-conf", corefilePath(c)];
}
