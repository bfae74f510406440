// Starts a single-node Kubernetes test cluster on this machine, everything in WORKDIR, and leaves it
// running in the background (stop it with npx tsx scripts/kubernetes/stop.ts WORKDIR):
//   etcd (Debian's), kube-apiserver, kube-controller-manager, kube-scheduler (controlPlane.ts), a
//   separate containerd (containerd.ts), the kubelet (kubelet.ts), CoreDNS (coredns.ts) and a PV
//   provisioner loop for the StorageClass "cybernode-local" (storage.ts), on fixed ports (settings.ts),
//   the node on its own address 10.245.0.1 and the Pods on a bridge (network.ts).
// Binaries come from scripts/install-kubernetes.sh ($CYBERNODE_CACHE/kubernetes-<version>/).
//
// Writes WORKDIR/kubeconfig (bearer token, insecure-skip-tls-verify) and WORKDIR/env (KEY=value lines:
// KUBECONFIG, CYBERNODE_K8S_CONTAINERD, CYBERNODE_K8S_NODE, CYBERNODE_K8S_NODE_IP,
// CYBERNODE_K8S_STORAGECLASS, ...), waits for the node to be Ready and the default ServiceAccount to
// exist. Each daemon's pid is in WORKDIR/pids/<name>.pid, its log in WORKDIR/logs/<name>.log.
// Whatever does not come up within CYBERNODE_K8S_TIMEOUT seconds (default 90) fails the script with
// the tail of that daemon's log; then everything started so far is stopped again
// (CYBERNODE_K8S_KEEP_ON_FAILURE=1 keeps it for a look). So does Ctrl-C (SIGINT) or SIGTERM.
//
// Usage: npx tsx scripts/kubernetes/start.ts WORKDIR   (WORKDIR is made when missing; must be empty)
// Env:   CYBERNODE_CACHE, CYBERNODE_K8S_VERSION as for install-kubernetes.sh
//        CYBERNODE_K8S_TIMEOUT, CYBERNODE_K8S_KEEP_ON_FAILURE
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeEnvFile } from "./envFile";
import { recordPreexisting } from "./hostPaths";
import { checkInstalled, checkNoOtherCluster, findKubectl, prepareWorkdir } from "./preflight";
import { lastLines, logPath } from "./processes";
import { type Cluster, clusterSettings, START_COMMAND, STOP_COMMAND, WORKDIR_FOLDERS } from "./settings";
import { ClusterError, describeError, logTo } from "./shell";
import { bringUp, interrupt } from "./startCluster";
import { stopCluster } from "./stopCluster";

const log = logTo("start-kubernetes");
const logError = logTo("start-kubernetes", process.stderr);

/** Checks, then WORKDIR's folders, the list of host paths that existed, and env (READY=0). */
async function prepare(args: string[]): Promise<Cluster> {
  if (args.length !== 1 || !args[0]) throw new ClusterError(`usage: ${START_COMMAND} WORKDIR`);
  const w = prepareWorkdir(args[0]);
  const c = clusterSettings(w, process.env, await findKubectl());
  await checkInstalled(c);
  await checkNoOtherCluster(c);
  for (const f of WORKDIR_FOLDERS) mkdirSync(join(w, f), { recursive: true });
  recordPreexisting(w);
  writeEnvFile(c, false); // stop.ts reads it; completed at the end
  return c;
}

/** The failing daemon's log tail, then everything stopped again (or kept for a look). */
async function undo(c: Cluster, failing: string | undefined): Promise<void> {
  const file = failing && logPath(c.workdir, failing);
  if (file && existsSync(file)) {
    logError(`---- last 40 lines of ${file} ----`);
    process.stderr.write(lastLines(readFileSync(file, "utf8"), 40));
    logError("----");
  }
  if (process.env.CYBERNODE_K8S_KEEP_ON_FAILURE === "1") {
    logError(`failed; left running for a look: ${STOP_COMMAND} ${c.workdir}`);
    return;
  }
  logError("failed; stopping what was started");
  const stopLog = logTo("stop-kubernetes", process.stderr); // as stop.ts would print it, on stderr
  await stopCluster(c.workdir, stopLog, stopLog).catch((e) => stopLog(`ERROR: ${describeError(e)}`));
}

async function main(args: string[]): Promise<number> {
  let c: Cluster;
  try {
    c = await prepare(args);
  } catch (e) {
    logError(`ERROR: ${describeError(e)}`);
    return 1;
  }
  const startedAt = Date.now();
  let signalled = 0;
  const onSignal = (sig: NodeJS.Signals, code: number) => {
    if (signalled) process.exit(signalled); // a second one: leave at once
    signalled = code;
    interrupt(sig);
  };
  process.on("SIGINT", () => onSignal("SIGINT", 130)).on("SIGTERM", () => onSignal("SIGTERM", 143));
  try {
    await bringUp(c, startedAt, log);
    return 0;
  } catch (e) {
    logError(`ERROR: ${describeError(e)}`);
    await undo(c, e instanceof ClusterError ? e.failing : undefined);
    return signalled || 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
