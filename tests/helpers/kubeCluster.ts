import { spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { binDir, REQUIRED_BINARIES } from "../../scripts/kubernetes/settings";

/**
 * Kubernetes tests are skipped only when this says so (CYBERNODE_SKIP_KUBERNETES=1, or CYBERNODE_SKIP_DOCKER=1
 * since they load run images from Docker); otherwise a missing cluster is a failure.
 */
export const SKIP_KUBERNETES = process.env.CYBERNODE_SKIP_DOCKER === "1" || process.env.CYBERNODE_SKIP_KUBERNETES === "1";

const REPO = resolve(__dirname, "..", "..");
const KUBECTL = "/usr/bin/kubectl";

/**
 * The cluster scripts as `npx tsx scripts/kubernetes/start.ts WORKDIR` runs them, without npx's start-up:
 * this Node with tsx's loader, from the repository.
 */
const script = (name: "start" | "stop", workdir: string): [string, string[]] => [
  process.execPath,
  ["--import", "tsx", join(REPO, "scripts", "kubernetes", `${name}.ts`), workdir],
];

/** A single-node Kubernetes started by scripts/kubernetes/start.ts in a folder of its own. */
export interface KubeCluster {
  /** Path of the kubeconfig (bearer token, insecure-skip-tls-verify). */
  kubeconfig: string;
  /** Its text, for providers that take the kubeconfig itself. */
  kubeconfigText: string;
  /** The cluster's own containerd socket (not Docker's). */
  containerdSocket: string;
  nodeName: string;
  /** The node's InternalIP (on a veth interface of this machine made for it). */
  nodeIp: string;
  /** StorageClass for node-local PersistentVolumes (the default class; WaitForFirstConsumer). */
  storageClass: string;
  /** The cluster's folder (WORKDIR of the scripts). */
  workdir: string;
  /** Every KEY=value of WORKDIR/env. */
  env: Record<string, string>;
  /** Runs kubectl against the cluster; resolves to its stdout, rejects with its stderr. */
  kubectl(args: string[], input?: string): Promise<string>;
  /** Imports an image archive (docker save / OCI layout tar, as a Buffer or a file path) into the node's k8s.io namespace; use imagePullPolicy Never. */
  importImage(archive: Buffer | string): Promise<void>;
  /** Stops everything and removes the folder (scripts/kubernetes/stop.ts); safe to call twice. */
  stop(): Promise<void>;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], opts: { input?: string | Buffer; timeoutMs?: number; cwd?: string } = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"], cwd: opts.cwd });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs) : undefined;
    child.on("error", (e) => {
      if (timer) clearTimeout(timer);
      fail(e);
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      done({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString() + (signal ? `\n(killed by ${signal})` : ""),
      });
    });
    child.stdin.on("error", () => {}); // the child may exit before reading everything
    child.stdin.end(opts.input ?? "");
  });
}

/** KEY=value lines (an optional pair of quotes around the value is removed). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let value = m[2];
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) value = value.slice(1, -1);
    env[m[1]] = value;
  }
  return env;
}

/** Throws the instruction to build them when the cluster's binaries are not in the cache. */
export function checkKubernetesBinaries(): void {
  const dir = binDir(process.env).bin;
  const missing = REQUIRED_BINARIES.filter((b) => {
    try {
      accessSync(join(dir, b), constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length)
    throw new Error(
      `the Kubernetes tests need ${missing.join(", ")} in ${dir}: run bash scripts/install-kubernetes.sh ` +
        "(builds them from Go modules once, ~10-12 min on 2 cores), or set CYBERNODE_SKIP_KUBERNETES=1 to skip them",
    );
}

/** Starts a fresh single-node cluster (about 5-20 s once the binaries are built). */
export async function startKubeCluster(): Promise<KubeCluster> {
  checkKubernetesBinaries();
  const workdir = mkdtempSync(join(tmpdir(), "cybk8s-"));
  const stopScript = (): Promise<Run> => run(...script("stop", workdir), { timeoutMs: 3 * 60_000, cwd: REPO });
  const started = await run(...script("start", workdir), { timeoutMs: 6 * 60_000, cwd: REPO });
  if (started.code !== 0) {
    await stopScript().catch(() => undefined);
    throw new Error(`scripts/kubernetes/start.ts failed (exit ${started.code}):\n${started.stdout}\n${started.stderr}`);
  }
  const env = parseEnvFile(readFileSync(join(workdir, "env"), "utf8"));
  const need = (key: string): string => {
    const v = env[key];
    if (!v) throw new Error(`${workdir}/env lacks ${key}`);
    return v;
  };
  const kubeconfig = need("KUBECONFIG");
  const containerdSocket = need("CYBERNODE_K8S_CONTAINERD");

  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const r = await run(KUBECTL, ["--kubeconfig", kubeconfig, ...args], { input, timeoutMs: 5 * 60_000 });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  };

  const importImage = async (archive: Buffer | string): Promise<void> => {
    const args = ["--address", containerdSocket, "-n", "k8s.io", "images", "import"];
    const r = Buffer.isBuffer(archive)
      ? await run("ctr", [...args, "-"], { input: archive, timeoutMs: 10 * 60_000 })
      : await run("ctr", [...args, archive], { timeoutMs: 10 * 60_000 });
    if (r.code !== 0) throw new Error(`ctr images import failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= stopScript().then((r) => {
      if (r.code !== 0) throw new Error(`scripts/kubernetes/stop.ts failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }));

  return {
    kubeconfig,
    kubeconfigText: readFileSync(kubeconfig, "utf8"),
    containerdSocket,
    nodeName: need("CYBERNODE_K8S_NODE"),
    nodeIp: need("CYBERNODE_K8S_NODE_IP"),
    storageClass: need("CYBERNODE_K8S_STORAGECLASS"),
    workdir,
    env,
    kubectl,
    importImage,
    stop,
  };
}
