import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "../pulumiSdk";
import type { NodePlan } from "../../stack/nodeConfig";
import type { KubernetesTarget } from "../../stack/kubernetesConfig";
import type { Health } from "../../imageSpec/operate";
import type { ResolvedSpec } from "../../imageSpec/validate";

/**
 * What a node becomes on Kubernetes: a one-replica StatefulSet (its data on a PersistentVolumeClaim
 * from a volumeClaimTemplate, kept when the node goes) and a Service. Pure: the same node plan the
 * Docker Container is made from, rendered as Kubernetes object specs; the program declares them.
 */

type StatefulSetSpec = k8s.types.input.apps.v1.StatefulSetSpec;
type ServiceSpec = k8s.types.input.core.v1.ServiceSpec;
type Probe = k8s.types.input.core.v1.Probe;

export interface NodeObjectsInput {
  node: NodePlan;
  spec: ResolvedSpec;
  stack: string;
  uid: number;
  target: KubernetesTarget;
  /** Image reference the Pod runs: `<registry>/<repo>@sha256:…`, or a tag imported on the node. */
  imageRef: pulumi.Input<string>;
  /** Imported images must never be pulled; registry digests are pulled when missing. */
  imported: boolean;
  /** Args with secrets filled in, when the node has any (otherwise node.args); a secret Output then. */
  args?: pulumi.Input<string[]>;
  /** Name of the Secret holding the node's secret files, when the spec has any. */
  secretFilesSecret?: string;
  /**
   * Per shared secret the node lists: a version that changes with its value (the Pod template carries
   * it, so a new value rolls the Pod).
   */
  sharedSecretVersions?: Record<string, pulumi.Input<string>>;
}

/** The Kubernetes Secret that holds a stack's shared secret. */
export const sharedSecretObjectName = (name: string) => `shared-${name}`;

/**
 * How Pulumi decides a node's StatefulSet is done (annotation `pulumi.com/waitFor`): its one Pod made
 * from the newest template and Ready. The provider's own StatefulSet await (4.24.1) can accept the
 * status written before the controller saw the update (pulumi-kubernetes#3329: `up` returned while the
 * old Pod still ran); its JSONPath conditions wait for `.status.observedGeneration` first.
 */
export const ROLLOUT_WAIT = JSON.stringify([
  "jsonpath={.status.updatedReplicas}=1",
  "jsonpath={.status.readyReplicas}=1",
  "jsonpath={.status.currentReplicas}=1",
]);

/** Labels of a node's objects and Pods; `selector` is the part that must never change. */
export function nodeLabels(node: NodePlan, stack: string): { selector: Record<string, string>; all: Record<string, string> } {
  const selector = { "app.kubernetes.io/name": node.name, "app.kubernetes.io/part-of": "cybernode", "cybernode.node": node.name };
  return { selector, all: { ...selector, "cybernode.stack": stack } };
}

/** The health check a node runs (its own, or the image's), as a Kubernetes readiness probe. Pure. */
export function readinessProbe(health: NodePlan["operation"]["health"], imageHealth: Health | undefined): Probe | undefined {
  const h = health === "off" ? undefined : health === "image" ? imageHealth : health;
  if (!h) return undefined;
  return {
    exec: { command: h.command },
    // Docker's start period is a grace before failures count; Kubernetes waits before the first check.
    // A node is Ready after its first passing check, so check early and often at start.
    initialDelaySeconds: 0,
    periodSeconds: Math.min(h.interval, 10),
    timeoutSeconds: h.timeout,
    failureThreshold: h.retries,
    successThreshold: 1,
  };
}

/** The Pod's volumes and the container's mounts: data, /tmp, secret files, shared secrets. Pure. */
function podVolumes(i: NodeObjectsInput): {
  volumeMounts: k8s.types.input.core.v1.VolumeMount[];
  volumes: k8s.types.input.core.v1.Volume[];
} {
  const { node } = i;
  const sec = node.security;
  const volumeMounts: k8s.types.input.core.v1.VolumeMount[] = [{ name: "data", mountPath: "/cyberdata" }];
  const volumes: k8s.types.input.core.v1.Volume[] = [];
  if (sec.readOnlyRoot) {
    volumeMounts.push({ name: "tmp", mountPath: "/tmp" });
    volumes.push({ name: "tmp", emptyDir: { medium: "Memory", sizeLimit: kubeQuantity(sec.tmpSize) } });
  }
  for (const [file] of node.secretFiles) {
    // Each secret file sits in /cyberdata, where the daemon reads it (btcd -C /cyberdata/rpc.conf).
    volumeMounts.push({ name: "secret-files", mountPath: `/cyberdata/${file}`, subPath: file, readOnly: true });
  }
  if (node.secretFiles.length && i.secretFilesSecret)
    volumes.push({ name: "secret-files", secret: { secretName: i.secretFilesSecret, defaultMode: 0o440 } });
  for (const s of node.sharedSecrets) {
    // The same path as on Docker hosts: /cybersecrets/<file>, read-only.
    volumeMounts.push({ name: `shared-${s.name}`, mountPath: `/cybersecrets/${s.file}`, subPath: s.file, readOnly: true });
    volumes.push({ name: `shared-${s.name}`, secret: { secretName: sharedSecretObjectName(s.name), defaultMode: 0o440 } });
  }
  return { volumeMounts, volumes };
}

export function statefulSetSpec(i: NodeObjectsInput): StatefulSetSpec {
  const { node, target, uid } = i;
  const op = node.operation;
  const labels = nodeLabels(node, i.stack);
  const sec = node.security;
  const { volumeMounts, volumes } = podVolumes(i);
  const limits: Record<string, string> = {};
  if (op.memoryMiB) limits.memory = `${op.memoryMiB}Mi`;
  if (op.cpus) limits.cpu = op.cpus;
  return {
    replicas: 1,
    serviceName: node.name,
    selector: { matchLabels: labels.selector },
    // Data is never deleted by the stack: not when the node is removed, not when scaled.
    persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
    updateStrategy: { type: "RollingUpdate" },
    template: {
      metadata: {
        labels: labels.all,
        annotations: {
          "cybernode.image": node.image,
          ...(node.after.length ? { "cybernode.after": [...node.after].sort().join(",") } : {}),
          ...Object.fromEntries(node.sharedSecrets.map((s) => [`cybernode.secret/${s.name}`, i.sharedSecretVersions?.[s.name] ?? ""])),
          ...Object.fromEntries(node.labels),
        },
      },
      spec: {
        terminationGracePeriodSeconds: op.stopGrace,
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        securityContext: { runAsUser: uid, runAsGroup: uid, fsGroup: uid, runAsNonRoot: true },
        containers: [
          {
            name: "node",
            image: i.imageRef,
            imagePullPolicy: i.imported ? "Never" : "IfNotPresent",
            args: i.args ?? node.args,
            env: node.env.map(([name, value]) => ({ name, value })),
            ports: node.ports.map((p) => ({
              name: portName(p.port, p.protocol),
              containerPort: p.port,
              protocol: p.protocol.toUpperCase(),
              // A port Docker would publish on all addresses is published on the node (as -p 8333:8333);
              // one bound to the host's loopback (RPC) stays inside the cluster, behind the Service.
              ...(p.bind === "127.0.0.1" || p.bind === "::1"
                ? {}
                : { hostPort: p.hostPort, ...(p.bind !== "0.0.0.0" ? { hostIP: p.bind } : {}) }),
            })),
            volumeMounts,
            readinessProbe: readinessProbe(op.health, i.spec.run.health),
            resources: Object.keys(limits).length ? { limits } : {},
            securityContext: {
              readOnlyRootFilesystem: sec.readOnlyRoot,
              allowPrivilegeEscalation: !sec.noNewPrivileges,
              capabilities: { drop: sec.capDrop, add: sec.capAdd },
            },
          },
        ],
        volumes,
      },
    },
    volumeClaimTemplates: [
      {
        metadata: { name: "data", labels: labels.all },
        spec: {
          accessModes: ["ReadWriteOnce"],
          ...(target.storageClass ? { storageClassName: target.storageClass } : {}),
          resources: { requests: { storage: target.dataSize } },
        },
      },
    ],
  };
}

/**
 * The node's Service: every port it publishes and every port its image exposes (e.g. geth's Engine API,
 * which only the beacon node uses), reachable inside the cluster by the node's name. Headless, as a
 * StatefulSet's governing Service is meant to be: the name resolves to the Pod itself, so it works
 * with cluster DNS alone (no kube-proxy) and for every port. Pure.
 */
export function serviceSpec(node: NodePlan, stack: string, exposed: { port: number; protocol: string }[] = []): ServiceSpec {
  const ports = new Map<string, { port: number; protocol: string }>();
  for (const p of [...node.ports, ...exposed]) ports.set(portName(p.port, p.protocol), { port: p.port, protocol: p.protocol });
  return {
    clusterIP: "None",
    selector: nodeLabels(node, stack).selector,
    ports: [...ports].map(([name, p]) => ({ name, port: p.port, targetPort: p.port, protocol: p.protocol.toUpperCase() })),
  };
}

/** A port name (at most 15 characters, [a-z0-9-]). Pure. */
export function portName(port: number, protocol: string): string {
  return `${protocol.toLowerCase()}-${port}`;
}

/** "64m" (docker's size) → "64Mi" (a Kubernetes quantity). Pure. */
export function kubeQuantity(size: string): string {
  const m = /^(\d+)([bkmg]?)$/i.exec(size.trim());
  if (!m) return size;
  const unit = { "": "", b: "", k: "Ki", m: "Mi", g: "Gi" }[m[2].toLowerCase()] ?? "";
  return `${m[1]}${unit}`;
}
