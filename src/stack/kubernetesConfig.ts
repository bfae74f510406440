import { isObject } from "../imageSpec/fields";
import type { NodePlan } from "./nodeConfig";

/**
 * `cybernode:kubernetes`: the stack deploys its nodes to a Kubernetes cluster (one-replica StatefulSet
 * and a Service per node) instead of Docker containers. Pure: validates the raw value, reporting every
 * bad field through `bad(key, what)`.
 */
export interface KubernetesTarget {
  /** Absolute path of a kubeconfig file; "" = the default (KUBECONFIG, ~/.kube/config). */
  kubeconfig: string;
  /** Context in that kubeconfig; "" = its current context. */
  context: string;
  /** Namespace of the nodes' objects; created by the stack and never deleted by it. */
  namespace: string;
  /** StorageClass of the data volumes; "" = the cluster's default class. */
  storageClass: string;
  /** Size requested for each node's data volume (a Kubernetes quantity, e.g. 500Gi). */
  dataSize: string;
  /**
   * Without a registry: the containerd socket of the cluster's (single) node, where run images are
   * imported (`ctr -n k8s.io images import`) and Pods use them with imagePullPolicy Never.
   */
  containerd: string;
}

const FIELDS = ["kubeconfig", "context", "namespace", "storageClass", "dataSize", "containerd"];
/** RFC 1123 label, as namespaces and Service names must be. */
export const DNS_LABEL_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** RFC 1123 subdomain, as StorageClass names must be. */
const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** A storage quantity: whole number with a binary or decimal suffix (10Gi, 500G, 1Ti). */
const QUANTITY_RE = /^[1-9][0-9]*(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)$/;

export function parseKubernetesTarget(
  v: unknown,
  registry: string,
  bad: (key: string, what: string) => void,
): KubernetesTarget | undefined {
  const k = "kubernetes";
  if (!isObject(v)) {
    bad(k, 'must be an object, e.g. { kubeconfig: /home/cyber/.kube/config, namespace: cybernode, dataSize: 500Gi, storageClass: "" }');
    return undefined;
  }
  for (const f of Object.keys(v)) if (!FIELDS.includes(f)) bad(`${k}.${f}`, `unknown field; known fields: ${FIELDS.join(", ")}`);
  const str = (f: string, dflt: string): string => {
    const x = v[f];
    if (x === undefined) return dflt;
    if (typeof x !== "string") {
      bad(`${k}.${f}`, `${JSON.stringify(x)} must be a string`);
      return dflt;
    }
    return x;
  };
  const t: KubernetesTarget = {
    kubeconfig: str("kubeconfig", ""),
    context: str("context", ""),
    namespace: str("namespace", "cybernode"),
    storageClass: str("storageClass", ""),
    dataSize: str("dataSize", "100Gi"),
    containerd: str("containerd", ""),
  };
  if (t.kubeconfig && !t.kubeconfig.startsWith("/"))
    bad(`${k}.kubeconfig`, `'${t.kubeconfig}' is relative; give the absolute path of a kubeconfig file`);
  if (t.context && !/^[A-Za-z0-9@._:/-]+$/.test(t.context)) bad(`${k}.context`, `'${t.context}' is not a kubeconfig context name`);
  if (!DNS_LABEL_RE.test(t.namespace))
    bad(`${k}.namespace`, `'${t.namespace}' is not a namespace name (lower-case letters, digits and '-', at most 63)`);
  if (t.storageClass && !DNS_SUBDOMAIN_RE.test(t.storageClass))
    bad(`${k}.storageClass`, `'${t.storageClass}' is not a StorageClass name (lower-case letters, digits, '-' and '.')`);
  if (!QUANTITY_RE.test(t.dataSize)) bad(`${k}.dataSize`, `'${t.dataSize}' is not a storage size; write e.g. 500Gi, 2Ti or 100G`);
  if (t.containerd && !/^(unix:\/\/)?\/\S+$/.test(t.containerd))
    bad(
      `${k}.containerd`,
      `'${t.containerd}' must be the absolute path of the node's containerd socket, e.g. /run/containerd/containerd.sock`,
    );
  if (registry && t.containerd)
    bad(
      `${k}.containerd`,
      "set either cybernode:registry (nodes pull by digest) or kubernetes.containerd (images imported on the node), not both",
    );
  if (!registry && !t.containerd)
    bad(
      k,
      "the cluster needs a way to get the run images: set cybernode:registry (pushed there, pulled by digest) or kubernetes.containerd (imported into a single node's containerd)",
    );
  return t;
}

/**
 * Node settings a cluster cannot honour, as config problems (key, what). Pure. Kubernetes stops
 * containers with SIGTERM and restarts a StatefulSet's Pods always.
 */
export function kubernetesNodeProblems(node: NodePlan): [string, string][] {
  const k = `nodes.${node.name}`;
  const problems: [string, string][] = [];
  if (node.operation.stopSignal !== "SIGTERM")
    problems.push([
      `${k}.stopSignal`,
      `${node.operation.stopSignal}: Kubernetes stops containers with SIGTERM; only SIGTERM works on a cluster`,
    ]);
  if (node.restart !== "always" && node.restart !== "unless-stopped")
    problems.push([`${k}.restart`, `'${node.restart}': a StatefulSet's Pods are always restarted; use always (or unless-stopped)`]);
  if (!DNS_NAME_RE.test(node.name))
    problems.push([k, `'${node.name}' cannot name Kubernetes objects: use lower-case letters, digits and '-' (at most 52 characters)`]);
  return problems;
}

/** StatefulSet names end up in Pod names with a `-0` suffix and in `data-<name>-0` PVCs. */
const DNS_NAME_RE = /^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$/;
