// Command lines of etcd (Debian's) and the control plane, all on loopback, no leader election.
//   etcd                      127.0.0.1:16379 (peer 16380), data in WORKDIR/etcd
//   kube-apiserver            https://127.0.0.1:16443, bearer-token auth, AlwaysAllow authorization;
//                             advertises the node IP (Endpoints may not hold a loopback address)
//   kube-controller-manager   127.0.0.1:16457
//   kube-scheduler            127.0.0.1:16459
import { join } from "node:path";
import type { Cluster } from "./settings";

export function etcdCommand(c: Cluster): string[] {
  const client = `http://127.0.0.1:${c.ports.etcd}`;
  const peer = `http://127.0.0.1:${c.ports.etcdPeer}`;
  return [
    "etcd",
    ...["--name", "cybernode-k8s", "--data-dir", join(c.workdir, "etcd")],
    ...["--listen-client-urls", client, "--advertise-client-urls", client],
    ...["--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer],
    ...["--initial-cluster", `cybernode-k8s=${peer}`, "--initial-cluster-state", "new"],
    ...["--snapshot-count", "10000", "--quota-backend-bytes", String(1024 * 1024 * 1024)],
  ];
}

export function etcdHealthUrl(c: Cluster): string {
  return `http://127.0.0.1:${c.ports.etcd}/health`;
}

/** The folder where the apiserver writes its self-signed serving certificate (apiserver.crt). */
export function apiserverCertDir(c: Cluster): string {
  return join(c.pki, "apiserver");
}

export function apiserverCommand(c: Cluster): string[] {
  const p = (f: string) => join(c.pki, f);
  return [
    join(c.bin, "kube-apiserver"),
    `--etcd-servers=http://127.0.0.1:${c.ports.etcd}`,
    ...["--bind-address=127.0.0.1", `--secure-port=${c.ports.api}`, `--advertise-address=${c.nodeIp}`],
    `--cert-dir=${apiserverCertDir(c)}`,
    `--token-auth-file=${p("tokens.csv")}`,
    "--authorization-mode=AlwaysAllow",
    `--service-account-key-file=${p("sa.pub")}`,
    `--service-account-signing-key-file=${p("sa.key")}`,
    "--service-account-issuer=https://kubernetes.default.svc",
    `--service-cluster-ip-range=${c.serviceCidr}`,
    "--kubelet-preferred-address-types=InternalIP,Hostname",
    `--kubelet-client-certificate=${p("kubelet-client.crt")}`,
    `--kubelet-client-key=${p("kubelet-client.key")}`,
    ...["--allow-privileged=true", "--profiling=false"],
  ];
}

function kubeconfigFlags(c: Cluster): string[] {
  return [`--kubeconfig=${c.kubeconfig}`, `--authentication-kubeconfig=${c.kubeconfig}`, `--authorization-kubeconfig=${c.kubeconfig}`];
}

export function controllerManagerCommand(c: Cluster): string[] {
  return [
    join(c.bin, "kube-controller-manager"),
    ...kubeconfigFlags(c),
    ...["--bind-address=127.0.0.1", `--secure-port=${c.ports.controllerManager}`],
    "--leader-elect=false",
    `--root-ca-file=${join(apiserverCertDir(c), "apiserver.crt")}`,
    `--service-account-private-key-file=${join(c.pki, "sa.key")}`,
    `--service-cluster-ip-range=${c.serviceCidr}`,
    ...[`--cert-dir=${join(c.pki, "controller-manager")}`, "--profiling=false"],
  ];
}

export function schedulerCommand(c: Cluster): string[] {
  return [
    join(c.bin, "kube-scheduler"),
    ...kubeconfigFlags(c),
    ...["--bind-address=127.0.0.1", `--secure-port=${c.ports.scheduler}`],
    "--leader-elect=false",
    ...[`--cert-dir=${join(c.pki, "scheduler")}`, "--profiling=false"],
  ];
}
