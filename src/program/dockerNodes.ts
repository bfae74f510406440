import * as docker from "@pulumi/docker";
import * as pulumi from "./pulumiSdk";
import type { EngineKind } from "../docker/cli";
import { sharedSecretDir } from "../common/sharedSecret";
import { fillSecrets, type NodePlan, type StackPlan } from "../stack/config";
import { containerSettings, engineIgnoredChanges, networkSettings } from "./containerSettings";
import { DataDir } from "./dataDirResource";
import type { Image } from "./imageResource";
import { SECRETS_DIR, startOrder } from "../stack/nodeLinks";
import { SharedSecret } from "./sharedSecretResource";

/**
 * A Docker or Podman stack's nodes: the host's provider, the stack's network, the shared secrets, and
 * per node its data folder and container, declared in start order (the Kubernetes side is
 * src/program/kubernetes/deploy.ts).
 */

/** The stack's Docker provider and one container per node, each running its image's run image by ID. */
export function nodeContainers(plan: StackPlan, images: Map<string, Image>, engine: EngineKind): docker.Container[] {
  const provider = new docker.Provider(`host-${plan.stack}`, { host: plan.host });
  // With a registry, the host pulls each image by digest instead of receiving it with docker load.
  const runImageIds = new Map<string, pulumi.Output<string>>();
  for (const name of new Set(plan.nodes.map((n) => n.image))) {
    const img = images.get(name) as Image;
    runImageIds.set(
      name,
      plan.registry
        ? new docker.RemoteImage(`${name.replace("/", "-")}-pull`, { name: img.pullRef, keepLocally: true }, { provider, parent: img })
            .imageId
        : img.imageId,
    );
  }
  const config = new pulumi.Config("cybernode");
  const network = plan.network ? new docker.Network(`network-${plan.stack}`, networkSettings(plan, engine), { provider }) : undefined;
  // Each shared secret a node lists, made with the run image of the first node that mounts it.
  const secrets = new Map<string, SharedSecret>();
  for (const s of plan.sharedSecrets) {
    const user = plan.nodes.find((n) => n.sharedSecrets.some((x) => x.name === s.name));
    if (!user) continue;
    secrets.set(
      s.name,
      new SharedSecret(`secret-${s.name}`, {
        host: plan.host,
        dir: sharedSecretDir(plan.dataRoot, s.name),
        file: s.file,
        template: s.template,
        uid: plan.uid,
        selinux: plan.selinux,
        stackFile: `stacks/Pulumi.${plan.stack}.yaml`,
        name: s.name,
        image: runImageIds.get(user.image) as pulumi.Output<string>,
      }),
    );
  }
  // Declared in start order, so that each container can depend on those it starts after.
  const made = new Map<string, docker.Container>();
  for (const name of startOrder(plan.nodes)) {
    const node = plan.nodes.find((n) => n.name === name) as NodePlan;
    made.set(
      name,
      nodeContainer(node, plan, images.get(node.image) as Image, runImageIds.get(node.image) as pulumi.Output<string>, {
        provider,
        config,
        engine,
        network,
        secrets,
        after: node.after.map((a) => made.get(a) as docker.Container),
      }),
    );
  }
  return plan.nodes.map((n) => made.get(n.name) as docker.Container);
}

interface NodeContext {
  provider: docker.Provider;
  config: pulumi.Config;
  engine: EngineKind;
  network?: docker.Network;
  secrets: Map<string, SharedSecret>;
  /** The containers of the nodes it starts after. */
  after: docker.Container[];
}

function nodeContainer(node: NodePlan, plan: StackPlan, image: Image, imageId: pulumi.Output<string>, c: NodeContext): docker.Container {
  const { provider, config, engine } = c;
  const secretValues = node.secrets.map((k) => config.requireSecret(k));
  const dataDir = new DataDir(`${node.name}-data`, {
    path: `${plan.dataRoot}/${node.name}`,
    uid: plan.uid,
    selinux: plan.selinux,
    host: plan.host,
    secretFiles: node.secretFiles,
    stackFile: `stacks/Pulumi.${plan.stack}.yaml`,
    // The engine makes the folder with a short-lived container of the image the node will run.
    image: imageId,
  });
  // Args with ${secret:key} become a secret output, so they never show in plain state or previews.
  const command: pulumi.Input<string[]> = node.secrets.length
    ? pulumi
        .all(secretValues)
        .apply((vals) => node.args.map((a) => fillSecrets(a, Object.fromEntries(node.secrets.map((k, i) => [k, vals[i]])))))
    : node.args;
  const settings = containerSettings(node, plan, engine);
  const secrets = node.sharedSecrets.map((s) => ({ s, r: c.secrets.get(s.name) as SharedSecret }));
  return new docker.Container(
    node.name,
    {
      // Docker or Podman: some settings are declared the way that engine reports them back.
      ...settings,
      image: imageId,
      command,
      // A new shared secret (made again after it was deleted on the host) restarts every node that mounts it.
      labels: [
        ...(settings.labels as { label: string; value: string }[]),
        ...secrets.map(({ s, r }) => ({ label: `cybernode.secret.${s.name}`, value: r.generation })),
      ],
      networkMode: c.network ? c.network.name : settings.networkMode,
      volumes: [
        { hostPath: dataDir.path, containerPath: "/cyberdata" },
        ...secrets.map(({ s, r }) => ({
          hostPath: pulumi.interpolate`${r.dir}/${s.file}`,
          containerPath: `${SECRETS_DIR}/${s.file}`,
          readOnly: true,
        })),
      ],
    },
    // Fixed names and host ports: the old container must go before its replacement starts.
    { provider, deleteBeforeReplace: true, dependsOn: [image, dataDir, ...c.after], ignoreChanges: engineIgnoredChanges(engine) },
  );
}
