// Storage: StorageClass "cybernode-local" (the default class), volumeBindingMode WaitForFirstConsumer,
// provisioner "cybernode.local/hostpath", served by a small loop (provisioner.sh beside this file,
// copied to WORKDIR/provisioner.sh; polls every second): for each Pending claim of that class that the
// scheduler gave a node it makes a folder WORKDIR/volumes/<pv> (mode 0777, so a Pod running as any uid
// can write even without fsGroup) and a `local` PersistentVolume pre-bound to the claim (fsGroup
// applies to local volumes); when a claim is deleted its Released volume and folder are removed.
// Unlike a fixed pool of pre-made volumes it never runs out and never hands a new claim an old claim's data.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Cluster } from "./settings";
import { $ } from "./shell";

export const PROVISIONER_SOURCE = join(__dirname, "provisioner.sh");

export function storageClassYaml(c: Cluster): string {
  return `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: ${c.storageClass}
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: ${c.provisioner}
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
`;
}

export function provisionerScriptPath(c: Cluster): string {
  return join(c.workdir, "provisioner.sh");
}

/** The loop's command line: its settings in the environment (env VAR=... bash WORKDIR/provisioner.sh). */
export function provisionerCommand(c: Cluster): string[] {
  const settings = {
    KUBECTL: c.kubectl,
    KUBECONFIG: c.kubeconfig,
    STORAGECLASS: c.storageClass,
    PROVISIONER: c.provisioner,
    NODE: c.node,
    VOLUMES: join(c.workdir, "volumes"),
  };
  return ["env", ...Object.entries(settings).map(([k, v]) => `${k}=${v}`), "bash", provisionerScriptPath(c)];
}

export async function applyStorageClass(c: Cluster): Promise<void> {
  await $({ input: storageClassYaml(c) })`${c.kubectl} --kubeconfig ${c.kubeconfig} apply -f -`;
}

export function installProvisioner(c: Cluster): void {
  writeFileSync(provisionerScriptPath(c), readFileSync(PROVISIONER_SOURCE));
}
