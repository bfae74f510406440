// The single-node test cluster's fixed names, addresses and ports, and where its files go in WORKDIR.
// Pure: start.ts and stop.ts, and every module between, take the Cluster this makes.
//
// Ports are fixed, far from every default (2379, 6443, 10250, 10257, 10259, 10010, ...), so the
// cluster never clashes with another Kubernetes or etcd; one cluster runs at a time on a machine.
import { join } from "node:path";

/** How a user runs the scripts, from the repository (usage lines and "what to do" in messages). */
export const START_COMMAND = "npx tsx scripts/kubernetes/start.ts";
export const STOP_COMMAND = "npx tsx scripts/kubernetes/stop.ts";
export const INSTALL_COMMAND = "bash scripts/install-kubernetes.sh";

/** Built by scripts/install-kubernetes.sh into $CYBERNODE_CACHE/kubernetes-<version>/. */
export const REQUIRED_BINARIES = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "pause", "coredns"];
/** From Debian packages (install-kubernetes.sh installs them) and the base system. */
export const REQUIRED_TOOLS = ["etcd", "containerd", "containerd-shim-runc-v2", "runc", "ctr", "openssl", "curl", "ip", "ss", "tar"];

export const PORTS = {
  etcd: 16379,
  etcdPeer: 16380,
  api: 16443,
  controllerManager: 16457,
  scheduler: 16459,
  kubelet: 16250,
  kubeletHealthz: 16248,
  criStream: 16010,
} as const;

/** What one cluster shares with the machine: a second cluster would clash on these. */
export const NETWORK = {
  node: "cybernode-k8s",
  nodeIf: "cybk8s0",
  nodeIp: "10.245.0.1",
  bridge: "cybk8sbr0",
  cniNetwork: "cybernode-k8s",
  podCidr: "10.244.0.0/24",
  serviceCidr: "10.0.0.0/24",
} as const;

export const STORAGE_CLASS = "cybernode-local";
export const PROVISIONER = "cybernode.local/hostpath";
export const PAUSE_IMAGE = "localhost/cybernode-pause:1";

export interface Cluster {
  /** WORKDIR, absolute and plain. */
  workdir: string;
  version: string;
  /** Folder of the Kubernetes binaries. */
  bin: string;
  timeoutSeconds: number;
  kubectl: string;
  node: string;
  nodeIf: string;
  nodeIp: string;
  bridge: string;
  cniNetwork: string;
  podCidr: string;
  serviceCidr: string;
  storageClass: string;
  provisioner: string;
  pauseImage: string;
  ports: typeof PORTS;
  /** The cluster's own containerd socket. */
  sock: string;
  pki: string;
  kubeconfig: string;
  apiUrl: string;
}

/** The version and cache folder as install-kubernetes.sh reads them. */
export function binDir(env: NodeJS.ProcessEnv): { version: string; bin: string } {
  const version = env.CYBERNODE_K8S_VERSION || "v1.37.2";
  const cache = env.CYBERNODE_CACHE || "/var/cache/cybernode";
  return { version, bin: join(cache, `kubernetes-${version}`) };
}

/** CYBERNODE_K8S_TIMEOUT (seconds, default 90); throws on anything but a positive number. */
export function timeoutSeconds(value: string | undefined): number {
  if (value === undefined || value === "") return 90;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n <= 0) throw new Error(`CYBERNODE_K8S_TIMEOUT must be a whole number of seconds above 0: ${value}`);
  return n;
}

export function clusterSettings(workdir: string, env: NodeJS.ProcessEnv, kubectl: string): Cluster {
  const { version, bin } = binDir(env);
  return {
    workdir,
    version,
    bin,
    timeoutSeconds: timeoutSeconds(env.CYBERNODE_K8S_TIMEOUT),
    kubectl,
    ...NETWORK,
    storageClass: STORAGE_CLASS,
    provisioner: PROVISIONER,
    pauseImage: PAUSE_IMAGE,
    ports: PORTS,
    sock: join(workdir, "containerd", "containerd.sock"),
    pki: join(workdir, "pki"),
    kubeconfig: join(workdir, "kubeconfig"),
    apiUrl: `https://127.0.0.1:${PORTS.api}`,
  };
}

/** Folders made in WORKDIR before anything starts. */
export const WORKDIR_FOLDERS = [
  "pids",
  "logs",
  "pki",
  "etcd",
  "containerd",
  "cni/net.d",
  "cni/ipam",
  "kubelet",
  "kubelet-pki",
  "pod-logs",
  "volumes",
  "pause",
];

/**
 * Why WORKDIR (absolute, symlinks resolved) cannot hold a cluster, or undefined. Containerd's socket
 * lives under it, and unix socket paths are short.
 */
export function workdirProblem(w: string): string | undefined {
  if (!/^[A-Za-z0-9/._-]+$/.test(w)) return `WORKDIR path must be plain (letters, digits, / . _ -): ${w}`;
  if (w.length > 70) return `WORKDIR path is too long for unix sockets (max 70 characters): ${w}`;
  return undefined;
}
