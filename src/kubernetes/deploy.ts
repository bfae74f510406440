import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { fillSecrets, type NodePlan, type StackPlan } from "../pulumi/config";
import type { Image } from "../pulumi/imageResource";
import type { KubernetesTarget } from "../pulumi/kubernetesConfig";
import type { ResolvedSpec } from "../spec/validate";
import { nodeLabels, ROLLOUT_WAIT, serviceSpec, statefulSetSpec } from "./nodeObjects";
import { SecretFileValues } from "./secretFiles";

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
  return plan.nodes.map((node) =>
    nodeObjects(node, plan, images.get(node.image) as Image, specs.get(node.image) as ResolvedSpec, provider, namespace, config),
  );
}

function nodeObjects(
  node: NodePlan,
  plan: StackPlan & { kubernetes: KubernetesTarget },
  image: Image,
  spec: ResolvedSpec,
  provider: k8s.Provider,
  namespace: k8s.core.v1.Namespace,
  config: pulumi.Config,
): { name: pulumi.Output<string> } {
  const ns = namespace.metadata.name;
  const labels = nodeLabels(node, plan.stack).all;
  const secretValues = node.secrets.map((k) => config.requireSecret(k));
  const args: pulumi.Input<string[]> = node.secrets.length
    ? pulumi
        .all(secretValues)
        .apply((vals) => node.args.map((a) => fillSecrets(a, Object.fromEntries(node.secrets.map((k, i) => [k, vals[i]])))))
    : node.args;
  const dependsOn: pulumi.Resource[] = [namespace, image];
  let secretFilesSecret: string | undefined;
  if (node.secretFiles.length) {
    const values = new SecretFileValues(`${node.name}-files`, { templates: node.secretFiles });
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
  });
  const sts = new k8s.apps.v1.StatefulSet(
    node.name,
    { metadata: { name: node.name, namespace: ns, labels, annotations: { "pulumi.com/waitFor": ROLLOUT_WAIT } }, spec: stsSpec },
    // A fixed name (its Pod and PVC names follow from it): the old one goes before its replacement.
    { provider, dependsOn, deleteBeforeReplace: true },
  );
  if (node.ports.length)
    new k8s.core.v1.Service(
      node.name,
      { metadata: { name: node.name, namespace: ns, labels }, spec: serviceSpec(node, plan.stack) },
      { provider, dependsOn: [namespace] },
    );
  return { name: pulumi.interpolate`${ns}/${sts.metadata.name}` };
}
