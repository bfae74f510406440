// Brings the cluster up in WORKDIR, in the order the pieces need each other: network, etcd and
// containerd first (they take a moment), certificates and the pause image meanwhile, then the
// apiserver, controller-manager, scheduler, CoreDNS and the kubelet, the StorageClass and its
// provisioner; then it waits for the node to be Ready and the default ServiceAccount to exist.
// Every step that waits blames one daemon when it fails, so start.ts can show that daemon's log.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { containerdCommand, containerdConfig, containerdConfigPath } from "./containerd";
import { apiserverCertDir, apiserverCommand, controllerManagerCommand, etcdCommand, etcdHealthUrl, schedulerCommand } from "./controlPlane";
import { corednsCommand, corefile, corefilePath } from "./coredns";
import { writeEnvFile } from "./envFile";
import { kubeletCommand, kubeletConfig, kubeletConfigPath, kubeletHealthUrl } from "./kubelet";
import { setUpNetwork } from "./network";
import { importPause, makePauseArchive } from "./pause";
import { makePki, writeKubeconfig } from "./pki";
import { launch as launchProcess, type Waiting, waitFor } from "./processes";
import { type Cluster, STOP_COMMAND } from "./settings";
import { $, ClusterError, describeError, type Log, succeeds } from "./shell";
import { applyStorageClass, installProvisioner, provisionerCommand } from "./storage";

/** Set by a signal: no daemon is started after it, and the next wait fails. */
let interruption: string | undefined;
export function interrupt(signal: string): void {
  interruption = signal;
}
function checkInterrupted(): void {
  if (interruption) throw new ClusterError(`interrupted by ${interruption}`);
}

function launch(c: Cluster, name: string, argv: string[]): void {
  checkInterrupted();
  launchProcess(c.workdir, name, argv);
}

/** Runs step; a failure blames daemon (its log tail is shown). */
async function blaming(daemon: string, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (e) {
    throw e instanceof ClusterError ? e : new ClusterError(describeError(e), daemon);
  }
}

/** A check that curl gets a 2xx answer. */
function curl(...args: string[]): () => Promise<boolean> {
  return () => succeeds($`curl ${args}`);
}
const kubectl = (c: Cluster, args: string[]) => $`${c.kubectl} --kubeconfig ${c.kubeconfig} ${args}`;

/** Network, etcd, containerd, certificates, the pause image; returns the bearer token. */
async function startBase(c: Cluster, w: Waiting): Promise<string> {
  await setUpNetwork(c);
  launch(c, "etcd", etcdCommand(c));
  writeFileSync(containerdConfigPath(c), containerdConfig(c));
  launch(c, "containerd", containerdCommand(c));
  const token = await makePki(c);
  writeKubeconfig(c, token);
  await makePauseArchive(c);
  await wait(w, "etcd", "etcd is healthy", curl("-sf", etcdHealthUrl(c)));
  return token;
}

async function startControlPlane(c: Cluster, w: Waiting, token: string): Promise<void> {
  mkdirSync(apiserverCertDir(c), { recursive: true });
  launch(c, "kube-apiserver", apiserverCommand(c));
  await wait(w, "containerd", "containerd answers", () => succeeds($`ctr --address ${c.sock} version`));
  await blaming("containerd", () => importPause(c));
  const readyz = `https://127.0.0.1:${c.ports.api}/readyz`;
  await wait(w, "kube-apiserver", "kube-apiserver is ready", curl("-skf", "-H", `Authorization: Bearer ${token}`, readyz));
  launch(c, "kube-controller-manager", controllerManagerCommand(c));
  launch(c, "kube-scheduler", schedulerCommand(c));
}

async function startNode(c: Cluster, w: Waiting): Promise<void> {
  writeFileSync(corefilePath(c), corefile(c));
  launch(c, "coredns", corednsCommand(c));
  writeFileSync(kubeletConfigPath(c), kubeletConfig(c));
  launch(c, "kubelet", kubeletCommand(c));
  const healthz = (port: number) => curl("-skf", `https://127.0.0.1:${port}/healthz`);
  await wait(w, "kube-controller-manager", "kube-controller-manager is healthy", healthz(c.ports.controllerManager));
  await wait(w, "kube-scheduler", "kube-scheduler is healthy", healthz(c.ports.scheduler));
  await wait(w, "kubelet", "kubelet is healthy", curl("-sf", kubeletHealthUrl(c)));
}

async function startStorage(c: Cluster): Promise<void> {
  await blaming("kube-apiserver", () => applyStorageClass(c));
  installProvisioner(c);
  launch(c, "provisioner", provisionerCommand(c));
}

async function waitForNode(c: Cluster, w: Waiting): Promise<void> {
  const ready = `jsonpath={.status.conditions[?(@.type=="Ready")].status}`;
  const nodeReady = async () => (await kubectl(c, ["get", "node", c.node, "-o", ready]).nothrow()).stdout === "True";
  await wait(w, "kubelet", `node ${c.node} is Ready`, nodeReady);
  const serviceAccount = () => succeeds(kubectl(c, ["get", "serviceaccount", "default", "-n", "default"]));
  await wait(w, "kube-controller-manager", "the default ServiceAccount exists", serviceAccount);
}

function wait(w: Waiting, name: string, what: string, check: () => Promise<boolean>): Promise<void> {
  return waitFor(w, name, what, async () => {
    checkInterrupted();
    return check();
  });
}

/** Everything after the WORKDIR is laid out; throws a ClusterError (or a failed command) on failure. */
export async function bringUp(c: Cluster, startedAt: number, log: Log): Promise<void> {
  const w: Waiting = { workdir: c.workdir, timeoutSeconds: c.timeoutSeconds, startedAt, log };
  const token = await startBase(c, w);
  await startControlPlane(c, w, token);
  await startNode(c, w);
  await startStorage(c);
  await waitForNode(c, w);
  writeEnvFile(c, true);
  const took = Math.floor((Date.now() - startedAt) / 1000);
  log(`cluster is up in ${took}s: KUBECONFIG=${c.kubeconfig} (env: ${join(c.workdir, "env")}, stop: ${STOP_COMMAND} ${c.workdir})`);
}
