import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "../pulumiSdk";
import { fillSecrets, type NodePlan, type StackPlan } from "../../stack/config";
import type { Image } from "../imageResource";
import type { KubernetesTarget } from "../../stack/kubernetesConfig";
import type { ResolvedSpec } from "../../imageSpec/validate";
import { nodeLabels, ROLLOUT_WAIT, serviceSpec, sharedSecretObjectName, statefulSetSpec } from "./nodeObjects";
import { startOrder } from "../../stack/nodeLinks";
import { SecretFiles } from "./secretFilesResource";

/**
 * A Kubernetes stack's nodes: the cluster's provider, the namespace (kept when the stack goes: its
 * PersistentVolumeClaims hold the chains), and per node a StatefulSet, its Service and, when the spec
 * has secret files, their Secret. Each Pod runs the image the stack built: by digest from the registry,
 * or the tag imported into the node's containerd.
 */
export function nodeStatefulSets(
  plan: StackPlan & { kubernetes: KubernetesTarget },
  images: Map<string, Image>,
  specs: Map<string, ResolvedSpec>,
): { name: pulumi.Output<string> }[] {
  const target = plan.kubernetes;
  const provider = new k8s.Provider(`cluster-${plan.stack}`, {
    ...(target.kubeconfig ? { kubeconfig: target.kubeconfig } : {}),
    ...(target.context ? { context: target.context } : {}),
  });
  const namespace = new k8s.core.v1.Namespace(
    target.namespace,
    { metadata: { name: target.namespace, labels: { "app.kubernetes.io/part-of": "cybernode" } } },
    // Deleting a namespace deletes its PersistentVolumeClaims: the stack never does.
    { provider, retainOnDelete: true },
  );
  const config = new pulumi.Config("cybernode");
  // A shared secret is a Secret in the stack's namespace; its value is made once by the plugin and held in
  // state as a secret (a cluster has no host folder to make it in), like the spec's secret files.
  const shared = new Map<string, { secret: k8s.core.v1.Secret; version: pulumi.Output<string> }>();
  for (const s of plan.sharedSecrets) {
    if (!plan.nodes.some((n) => n.sharedSecrets.some((x) => x.name === s.name))) continue;
    const values = new SecretFiles(`secret-${s.name}`, { templates: [[s.file, s.template]] });
    const name = sharedSecretObjectName(s.name);
    const secret = new k8s.core.v1.Secret(
      name,
      {
        metadata: {
          name,
          namespace: namespace.metadata.name,
          labels: { "app.kubernetes.io/part-of": "cybernode", "cybernode.stack": plan.stack },
        },
        stringData: values.files,
      },
      { provider, dependsOn: [namespace] },
    );
    shared.set(s.name, { secret, version: values.id });
  }
  // In start order: a node's StatefulSet waits for those it starts after to be Ready (their health check).
  const made = new Map<string, { name: pulumi.Output<string>; sts: k8s.apps.v1.StatefulSet }>();
  for (const nodeName of startOrder(plan.nodes)) {
    const node = plan.nodes.find((n) => n.name === nodeName) as NodePlan;
    made.set(
      nodeName,
      nodeObjects(node, plan, images.get(node.image) as Image, specs.get(node.image) as ResolvedSpec, provider, namespace, config, {
        after: node.after.map((a) => (made.get(a) as { sts: k8s.apps.v1.StatefulSet }).sts),
        shared,
      }),
    );
  }
  return plan.nodes.map((n) => made.get(n.name) as { name: pulumi.Output<string> });
}

function nodeObjects(
  node: NodePlan,
  plan: StackPlan & { kubernetes: KubernetesTarget },
  image: Image,
  spec: ResolvedSpec,
  provider: k8s.Provider,
  namespace: k8s.core.v1.Namespace,
  config: pulumi.Config,
  links: {
    after: k8s.apps.v1.StatefulSet[];
    shared: Map<string, { secret: k8s.core.v1.Secret; version: pulumi.Output<string> }>;
  },
): { name: pulumi.Output<string>; sts: k8s.apps.v1.StatefulSet } {
  const ns = namespace.metadata.name;
  const labels = nodeLabels(node, plan.stack).all;
  const secretValues = node.secrets.map((k) => config.requireSecret(k));
  const args: pulumi.Input<string[]> = node.secrets.length
    ? pulumi
        .all(secretValues)
        .apply((vals) => node.args.map((a) => fillSecrets(a, Object.fromEntries(node.secrets.map((k, i) => [k, vals[i]])))))
    : node.args;
  const dependsOn: pulumi.Resource[] = [namespace, image, ...links.after];
  const sharedSecretVersions: Record<string, pulumi.Output<string>> = {};
  for (const s of node.sharedSecrets) {
    const made = links.shared.get(s.name);
    if (!made) continue;
    dependsOn.push(made.secret);
    sharedSecretVersions[s.name] = made.version;
  }
  let secretFilesSecret: string | undefined;
  if (node.secretFiles.length) {
    const values = new SecretFiles(`${node.name}-files`, { templates: node.secretFiles });
    secretFilesSecret = `${node.name}-files`;
    dependsOn.push(
      new k8s.core.v1.Secret(
        `${node.name}-files`,
        { metadata: { name: secretFilesSecret, namespace: ns, labels }, stringData: values.files },
        { provider, dependsOn: [namespace] },
      ),
    );
  }
  const imported = plan.kubernetes.containerd !== "";
  // Image and args stay Outputs inside the spec: a preview shows the other fields, and only args are secret.
  const stsSpec = statefulSetSpec({
    node,
    spec,
    stack: plan.stack,
    uid: plan.uid,
    target: plan.kubernetes,
    imageRef: image.pullRef,
    imported,
    args,
    secretFilesSecret,
    sharedSecretVersions,
  });
  const sts = new k8s.apps.v1.StatefulSet(
    node.name,
    { metadata: { name: node.name, namespace: ns, labels, annotations: { "pulumi.com/waitFor": ROLLOUT_WAIT } }, spec: stsSpec },
    // A fixed name (its Pod and PVC names follow from it): the old one goes before its replacement.
    { provider, dependsOn, deleteBeforeReplace: true },
  );
  if (node.ports.length || spec.run.ports.length)
    new k8s.core.v1.Service(
      node.name,
      { metadata: { name: node.name, namespace: ns, labels }, spec: serviceSpec(node, plan.stack, spec.run.ports) },
      { provider, dependsOn: [namespace] },
    );
  return { name: pulumi.interpolate`${ns}/${sts.metadata.name}`, sts };
}
