import test from "ava";
import { kubeQuantity, readinessProbe, serviceSpec, statefulSetSpec } from "../../src/program/kubernetes/nodeObjects";
import { fillRandom } from "../../src/provider/secretFilesOps";
import { type StackContext, validateStackConfig } from "../../src/stack/config";
import { containerdName, importedRef } from "../../src/publish/containerd";
import { destinationFor } from "../../src/publish/publisher";
import { InputError } from "../../src/imageSpec/errors";
import { validateSpec } from "../../src/imageSpec/validate";
import { goodSpec } from "../helpers/specs";

// Kubernetes stacks, the pure parts: the cybernode:kubernetes key, what a node becomes (StatefulSet,
// Service), how images reach a registry-less node, and the secret files' random values.

// biome-ignore lint/suspicious/noExplicitAny: a rendered object, read field by field
type Json = Record<string, any>;

const spec = validateSpec("fullnode/node", {
  ...goodSpec(),
  run: { ...goodSpec().run, health: { command: ["/cyberapp/node", "--ping"], interval: 30, timeout: 5, retries: 4, startPeriod: 60 } },
  container: { ...goodSpec().container, secretFiles: { "rpc.conf": "rpcpass=${random}\n" } },
});
const ctx = (): StackContext => ({
  stack: "cluster",
  stackFile: "stacks/Pulumi.cluster.yaml",
  specs: new Map([["fullnode/node", spec]]),
  cyberUid: 1000,
  secretKeys: new Set(),
});
const KUBE = { containerd: "/tmp/k8s/containerd.sock", namespace: "chains", dataSize: "20Gi", storageClass: "cybernode-local" };
const plan = (kubernetes: unknown = KUBE, extra: Record<string, unknown> = {}) =>
  validateStackConfig(
    { kubernetes, nodes: { node: { image: "fullnode/node", memory: "512m", ...extra } }, ...(extra.registry ? {} : {}) },
    ctx(),
  );

test("cybernode:kubernetes: defaults and the fields a stack sets", (t) => {
  const p = plan({ containerd: "unix:///run/containerd/containerd.sock" });
  t.deepEqual(p.kubernetes, {
    kubeconfig: "",
    context: "",
    namespace: "cybernode",
    storageClass: "",
    dataSize: "100Gi",
    containerd: "unix:///run/containerd/containerd.sock",
  });
  t.is(plan().kubernetes?.namespace, "chains");
  t.is(validateStackConfig({ nodes: { node: { image: "fullnode/node" } } }, ctx()).kubernetes, undefined, "Docker stacks have none");
});

const BAD: [string, unknown, Record<string, unknown>, string][] = [
  ["not an object", "yes", {}, "cybernode:kubernetes: must be an object"],
  ["unknown field", { ...KUBE, namspace: "x" }, {}, "cybernode:kubernetes.namspace: unknown field"],
  ["relative kubeconfig", { ...KUBE, kubeconfig: "kube/config" }, {}, "cybernode:kubernetes.kubeconfig: 'kube/config' is relative"],
  ["namespace with capitals", { ...KUBE, namespace: "Chains" }, {}, "cybernode:kubernetes.namespace: 'Chains' is not a namespace name"],
  ["size without unit", { ...KUBE, dataSize: "500" }, {}, "cybernode:kubernetes.dataSize: '500' is not a storage size"],
  ["bad StorageClass", { ...KUBE, storageClass: "Local_Path" }, {}, "cybernode:kubernetes.storageClass"],
  ["relative containerd socket", { ...KUBE, containerd: "containerd.sock" }, {}, "cybernode:kubernetes.containerd"],
  [
    "no way to get images there",
    { namespace: "x" },
    {},
    "set cybernode:registry (pushed there, pulled by digest) or kubernetes.containerd",
  ],
  [
    "SIGINT on a cluster",
    KUBE,
    { stopSignal: "SIGINT" },
    "cybernode:nodes.node.stopSignal: SIGINT: Kubernetes stops containers with SIGTERM",
  ],
  ["restart no on a cluster", KUBE, { restart: "no" }, "cybernode:nodes.node.restart: 'no': a StatefulSet's Pods are always restarted"],
];
for (const [what, kube, node, message] of BAD) {
  test(`kubernetes stack refused: ${what}`, (t) => {
    const e = t.throws(() => plan(kube, node), { instanceOf: InputError });
    t.true(e?.message.includes(message), e?.message);
  });
}

test("registry and containerd together are refused", (t) => {
  const e = t.throws(() => validateStackConfig({ registry: "reg.example:5000/c", kubernetes: KUBE, nodes: {} }, ctx()), {
    instanceOf: InputError,
  });
  t.regex(e?.message ?? "", /set either cybernode:registry .* or kubernetes\.containerd .*, not both/);
});

test("a node as a StatefulSet: uid, hardening, grace, probe, limits, data claim, ports", (t) => {
  const p = plan();
  const node = p.nodes[0];
  const s = statefulSetSpec({
    node,
    spec,
    stack: "cluster",
    uid: p.uid,
    target: p.kubernetes!,
    imageRef: "cybernode/x:cid-0",
    imported: true,
    secretFilesSecret: "node-files",
  }) as Json;
  const pod = s.template.spec;
  const c = pod.containers[0];
  t.is(s.replicas, 1);
  t.deepEqual(pod.securityContext, { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, runAsNonRoot: true });
  t.is(pod.terminationGracePeriodSeconds, spec.container.stopGrace);
  t.is(c.imagePullPolicy, "Never");
  t.deepEqual(c.resources, { limits: { memory: "512Mi" } });
  t.deepEqual(c.readinessProbe.exec.command, ["/cyberapp/node", "--ping"]);
  t.is(c.readinessProbe.failureThreshold, 4);
  t.deepEqual(
    c.ports.map((x: Record<string, unknown>) => [x.containerPort, x.hostPort]),
    [
      [8333, 8333],
      [8334, undefined],
    ],
    "P2P published on the node, RPC (bound to loopback on Docker) only in the cluster",
  );
  t.deepEqual(c.volumeMounts, [
    { name: "data", mountPath: "/cyberdata" },
    { name: "tmp", mountPath: "/tmp" },
    { name: "secret-files", mountPath: "/cyberdata/rpc.conf", subPath: "rpc.conf", readOnly: true },
  ]);
  t.deepEqual(pod.volumes[0], { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } });
  t.deepEqual(s.volumeClaimTemplates[0].spec, {
    accessModes: ["ReadWriteOnce"],
    storageClassName: "cybernode-local",
    resources: { requests: { storage: "20Gi" } },
  });
  t.deepEqual(s.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" });
  t.deepEqual(serviceSpec(node, "cluster").ports, [
    { name: "tcp-8333", port: 8333, targetPort: 8333, protocol: "TCP" },
    { name: "tcp-8334", port: 8334, targetPort: 8334, protocol: "TCP" },
  ]);
});

test("probes: the image's check, a node's own, or none", (t) => {
  const own = { command: ["/cyberapp/x"], interval: 60, timeout: 3, retries: 2, startPeriod: 0 };
  t.is(readinessProbe("off", spec.run.health)?.exec, undefined);
  t.is(readinessProbe("image", undefined), undefined);
  t.deepEqual(readinessProbe(own, spec.run.health)?.exec, { command: ["/cyberapp/x"] });
  t.is(readinessProbe(own, undefined)?.periodSeconds, 10, "checked at least every 10 s, so a node turns Ready soon after it can");
});

test("sizes, imported image names and destinations", (t) => {
  t.is(kubeQuantity("64m"), "64Mi");
  t.is(kubeQuantity("1g"), "1Gi");
  t.is(importedRef("cybernode/fullnode-btcd:btcd_v0.26.2", `sha256:${"a".repeat(64)}`), `cybernode/fullnode-btcd:cid-${"a".repeat(64)}`);
  t.is(containerdName("cybernode/fullnode-btcd:1"), "docker.io/cybernode/fullnode-btcd:1");
  t.is(containerdName("busybox:1"), "docker.io/library/busybox:1");
  t.is(containerdName("localhost:5000/x:1"), "localhost:5000/x:1");
  t.deepEqual(destinationFor({ targetHost: "containerd:///tmp/k/c.sock" }), { kind: "containerd", socket: "/tmp/k/c.sock" });
  t.deepEqual(destinationFor({ targetHost: "containerd:///tmp/k/c.sock", registry: "r:5000" }), { kind: "registry", registry: "r:5000" });
});

test("secret files: each ${random} gets its own value", (t) => {
  let n = 0;
  t.is(
    fillRandom("user=u\npass=${random}\nkey=${random}\n", () => `r${++n}`),
    "user=u\npass=r1\nkey=r2\n",
  );
});

test("a shared secret on a cluster: the Secret mounted read-only at /cybersecrets/<file>, its version on the Pod template", (t) => {
  const p = validateStackConfig(
    {
      kubernetes: KUBE,
      sharedSecrets: { "engine-jwt": { file: "jwt.hex" } },
      nodes: { node: { image: "fullnode/node", secrets: ["engine-jwt"] }, other: { image: "fullnode/node", after: ["node"], ports: [] } },
    },
    ctx(),
  );
  const node = p.nodes.find((n) => n.name === "node")!;
  const s = statefulSetSpec({
    node,
    spec,
    stack: "cluster",
    uid: p.uid,
    target: p.kubernetes!,
    imageRef: "x",
    imported: true,
    sharedSecretVersions: { "engine-jwt": "v1" },
  }) as Json;
  const c = s.template.spec.containers[0];
  t.deepEqual(
    c.volumeMounts.find((m: Json) => m.mountPath === "/cybersecrets/jwt.hex"),
    { name: "shared-engine-jwt", mountPath: "/cybersecrets/jwt.hex", subPath: "jwt.hex", readOnly: true },
  );
  t.deepEqual(
    s.template.spec.volumes.find((v: Json) => v.name === "shared-engine-jwt"),
    { name: "shared-engine-jwt", secret: { secretName: "shared-engine-jwt", defaultMode: 0o440 } },
  );
  t.is(s.template.metadata.annotations["cybernode.secret/engine-jwt"], "v1", "a new value rolls the Pod");
  const other = p.nodes.find((n) => n.name === "other")!;
  const o = statefulSetSpec({
    node: other,
    spec,
    stack: "cluster",
    uid: p.uid,
    target: p.kubernetes!,
    imageRef: "x",
    imported: true,
  }) as Json;
  t.is(o.template.metadata.annotations["cybernode.after"], "node");
  t.false(JSON.stringify(o).includes("cybersecrets"), "a node that lists no secret mounts none");
});

test("a node's Service carries the ports its image exposes, published or not, each once", (t) => {
  const p = plan(KUBE, { ports: ["127.0.0.1:18334:8334"] });
  const svc = serviceSpec(p.nodes[0], "cluster", spec.run.ports) as Json;
  t.is(svc.clusterIP, "None", "headless: the node's name resolves to its Pod, with cluster DNS alone");
  t.deepEqual(
    svc.ports.map((x: Json) => `${x.port}/${x.protocol}`),
    ["8334/TCP", "8333/TCP"],
  );
});
