import test from "ava";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { load } from "js-yaml";
import { containerdCommand, containerdConfig, containerdConfigPath } from "../../scripts/kubernetes/containerd";
import {
  apiserverCommand,
  controllerManagerCommand,
  etcdCommand,
  etcdHealthUrl,
  schedulerCommand,
} from "../../scripts/kubernetes/controlPlane";
import { corednsCommand, corefile, corefilePath } from "../../scripts/kubernetes/coredns";
import { clusterKeys, envFileText } from "../../scripts/kubernetes/envFile";
import { cniResultFiles, HOST_PATHS, madeBy, preexistingText } from "../../scripts/kubernetes/hostPaths";
import { kubeletCommand, kubeletConfig, kubeletConfigPath, kubeletHealthUrl } from "../../scripts/kubernetes/kubelet";
import { mountPointsUnder } from "../../scripts/kubernetes/mounts";
import { aliasIn, cniConflist, cniConflistPath, forwardRule, linkNames } from "../../scripts/kubernetes/network";
import { pauseConfig, pauseManifest } from "../../scripts/kubernetes/pause";
import { CLIENT_EXT, kubeconfigYaml, opensslChains, SECRET_FILES, tokensCsv } from "../../scripts/kubernetes/pki";
import { anyRunning, isShimOf } from "../../scripts/kubernetes/pods";
import { lastLines } from "../../scripts/kubernetes/processes";
import { nodeIfTaken, loopbackPorts } from "../../scripts/kubernetes/preflight";
import { type Cluster, clusterSettings, PORTS, timeoutSeconds, workdirProblem } from "../../scripts/kubernetes/settings";
import { CONTROL_PLANE_STOP, realpathMissing, refusedWorkdir, stopTarget } from "../../scripts/kubernetes/stopCluster";
import { PROVISIONER_SOURCE, provisionerCommand, storageClassYaml } from "../../scripts/kubernetes/storage";
import { ClusterError, describeError } from "../../scripts/kubernetes/shell";
import { parseEnvFile } from "../helpers/kubeCluster";
import { ProcessOutput } from "zx";

// scripts/kubernetes/ (the single-node test cluster), the pure parts: command lines, the files written
// into WORKDIR (parsed as the programs that read them would), the env file, and what stop reads back.
// The cluster itself runs in tests/kubernetes.

// biome-ignore lint/suspicious/noExplicitAny: parsed config files, read field by field
type Json = Record<string, any>;

const W = "/tmp/cybk8s-unit";
const c: Cluster = clusterSettings(W, { CYBERNODE_CACHE: "/cache", CYBERNODE_K8S_VERSION: "v9.9.9" }, "/usr/bin/kubectl");
const yaml = (text: string): Json => load(text) as Json;

/** `key = value` lines of containerd's config by section; values are TOML basic strings, booleans, integers, arrays (JSON-compatible). */
function tomlSections(text: string): Record<string, Record<string, unknown>> {
  const sections: Record<string, Record<string, unknown>> = { "": {} };
  let at = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line) continue;
    const section = /^\[([A-Za-z0-9_."-]+)\]$/.exec(line);
    if (section) {
      at = section[1];
      if (sections[at]) throw new Error(`section ${at} twice`);
      sections[at] = {};
      continue;
    }
    const kv = /^([A-Za-z_]+) = (.+)$/.exec(line);
    if (!kv) throw new Error(`not TOML this test reads: ${line}`);
    if (kv[1] in sections[at]) throw new Error(`${kv[1]} twice in [${at}]`);
    sections[at][kv[1]] = JSON.parse(kv[2]);
  }
  return sections;
}

/** Files the openssl command lines write into pki/. */
const opensslOutputs = (): string[] =>
  opensslChains()
    .flat()
    .flatMap((argv) => argv.flatMap((a, i) => (a === "-out" || a === "-keyout" ? [argv[i + 1]] : [])));

test("settings: paths under WORKDIR, the cache folder, the timeout and which WORKDIRs are refused", (t) => {
  t.is(c.bin, "/cache/kubernetes-v9.9.9");
  t.is(c.sock, `${W}/containerd/containerd.sock`);
  t.is(c.kubeconfig, `${W}/kubeconfig`);
  t.is(c.apiUrl, `https://127.0.0.1:${PORTS.api}`);
  t.is(c.timeoutSeconds, 90);
  t.is(timeoutSeconds("5"), 5);
  t.throws(() => timeoutSeconds("soon"), { message: /CYBERNODE_K8S_TIMEOUT/ });
  t.throws(() => timeoutSeconds("0"));
  t.is(workdirProblem(W), undefined);
  t.regex(workdirProblem("/tmp/a b") ?? "", /must be plain/);
  t.regex(workdirProblem(`/tmp/${"x".repeat(70)}`) ?? "", /too long for unix sockets/);
  const ports = Object.values(PORTS);
  t.is(new Set(ports).size, ports.length, "every daemon has its own port");
  t.true(
    ports.every((p) => p > 16000 && p < 17000),
    "far from every default port",
  );
  t.deepEqual(loopbackPorts(c).sort(), ports.filter((p) => p !== PORTS.kubelet).sort());
  t.is(
    nodeIfTaken("cybk8s0", ""),
    "interface cybk8s0 exists: a cluster already runs (or was not stopped): npx tsx scripts/kubernetes/stop.ts <its WORKDIR>",
  );
});

test("env file: what start writes is what the test helper and stop read", (t) => {
  const text = envFileText(c, true);
  t.true(text.endsWith("\n"));
  const env = parseEnvFile(text);
  t.is(env.KUBECONFIG, c.kubeconfig);
  t.is(env.CYBERNODE_K8S_CONTAINERD, c.sock);
  t.is(env.CYBERNODE_K8S_NODE, "cybernode-k8s");
  t.is(env.CYBERNODE_K8S_NODE_IP, "10.245.0.1");
  t.is(env.CYBERNODE_K8S_STORAGECLASS, "cybernode-local");
  t.is(env.CYBERNODE_K8S_READY, "1");
  t.is(parseEnvFile(envFileText(c, false)).CYBERNODE_K8S_READY, "0");
  t.is(Object.keys(env).length, text.trim().split("\n").length, "one KEY=value per line");
  t.false("KUBECONFIG" in clusterKeys(text), "stop reads only CYBERNODE_K8S_* keys");
  t.deepEqual(stopTarget(W, text), { workdir: W, sock: c.sock, bridge: c.bridge, nodeIf: c.nodeIf, cniNetwork: c.cniNetwork });
  const moved = text.replace(/^CYBERNODE_K8S_BRIDGE=.*$/m, "CYBERNODE_K8S_BRIDGE=otherbr0").replace(c.sock, "/s/a=b.sock");
  t.like(stopTarget(W, moved), { bridge: "otherbr0", sock: "/s/a=b.sock" });
  t.deepEqual(stopTarget("/gone", undefined), stopTarget("/gone", envFileText(clusterSettings("/gone", {}, "kubectl"), false)));
});

test("CNI: the conflist is JSON for the bridge and Pod range, in the folder containerd reads", (t) => {
  const conf = JSON.parse(cniConflist(c)) as Json;
  t.is(conf.name, c.cniNetwork);
  const bridge = conf.plugins[0];
  t.like(bridge, { type: "bridge", bridge: c.bridge, isGateway: true, ipMasq: false });
  t.deepEqual(bridge.ipam.ranges, [[{ subnet: "10.244.0.0/24" }]]);
  t.is(bridge.ipam.dataDir, `${W}/cni/ipam`);
  t.is(conf.plugins[1].type, "portmap");
  const cri = tomlSections(containerdConfig(c))['plugins."io.containerd.grpc.v1.cri".cni'];
  t.is(cri.conf_dir, dirname(cniConflistPath(c)));
  t.regex(cniConflistPath(c), /\.conflist$/);
  t.deepEqual(forwardRule("br9"), [
    "FORWARD",
    "-i",
    "br9",
    "-o",
    "br9",
    "-m",
    "comment",
    "--comment",
    "cybernode-k8s pods",
    "-j",
    "ACCEPT",
  ]);
});

test("containerd: its own socket, state and runc root in WORKDIR, the CRI settings this machine needs", (t) => {
  const s = tomlSections(containerdConfig(c));
  t.like(s[""], { version: 2, root: `${W}/containerd/root`, state: `${W}/containerd/state`, oom_score: 0 });
  t.is(s.grpc.address, c.sock);
  t.is(s.ttrpc.address, `${c.sock}.ttrpc`);
  const cri = s['plugins."io.containerd.grpc.v1.cri"'];
  t.like(cri, { sandbox_image: c.pauseImage, restrict_oom_score_adj: true, stream_server_port: String(PORTS.criStream) });
  t.like(s['plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options'], { SystemdCgroup: false, Root: `${W}/runc` });
  t.deepEqual(containerdCommand(c), ["containerd", "--config", containerdConfigPath(c), "--log-level", "info"]);
});

test("kubelet: the config is YAML the kubelet reads, pointing at the cluster's containerd, CA and DNS", (t) => {
  const k = yaml(kubeletConfig(c));
  t.like(k, { kind: "KubeletConfiguration", address: c.nodeIp, port: PORTS.kubelet, readOnlyPort: 0, healthzPort: PORTS.kubeletHealthz });
  t.like(k, { cgroupDriver: "cgroupfs", failCgroupV1: false, failSwapOn: false, oomScoreAdj: 0 });
  t.is(k.containerRuntimeEndpoint, `unix://${c.sock}`);
  t.is(k.imageServiceEndpoint, `unix://${c.sock}`);
  t.like(k, { imageGCHighThresholdPercent: 100, imageGCLowThresholdPercent: 99, podLogsDir: `${W}/pod-logs` });
  t.is(k.authentication.x509.clientCAFile, join(c.pki, "ca.crt"));
  t.true(opensslOutputs().includes("ca.crt"), "the CA the kubelet trusts is one start makes");
  t.deepEqual(k.clusterDNS, [c.nodeIp]);
  t.is(k.evictionHard["nodefs.available"], "1%");
  const argv = kubeletCommand(c);
  t.is(argv[0], "/cache/kubernetes-v9.9.9/kubelet");
  t.true(argv.includes(`--config=${kubeletConfigPath(c)}`));
  t.true(argv.includes(`--node-ip=${c.nodeIp}`));
  t.is(kubeletHealthUrl(c), `http://127.0.0.1:${PORTS.kubeletHealthz}/healthz`);
});

test("control plane: command lines on the fixed ports, reading only files start makes", (t) => {
  const etcd = etcdCommand(c);
  t.is(etcd[0], "etcd");
  t.is(etcd[etcd.indexOf("--listen-client-urls") + 1], `http://127.0.0.1:${PORTS.etcd}`);
  t.is(etcd[etcd.indexOf("--quota-backend-bytes") + 1], "1073741824");
  t.true(etcdHealthUrl(c).startsWith(etcd[etcd.indexOf("--advertise-client-urls") + 1]));
  const api = apiserverCommand(c);
  const cm = controllerManagerCommand(c);
  const sched = schedulerCommand(c);
  for (const argv of [api, cm, sched]) {
    t.true(
      argv.slice(1).every((a) => /^--[a-z0-9-]+=\S+$/.test(a)),
      `--flag=value only: ${argv[0]}`,
    );
    t.is(new Set(argv.map((a) => a.split("=")[0])).size, argv.length, "no flag twice");
  }
  t.true(api.includes(`--etcd-servers=http://127.0.0.1:${PORTS.etcd}`));
  t.true(api.includes(`--secure-port=${PORTS.api}`));
  t.true(cm.includes(`--secure-port=${PORTS.controllerManager}`));
  t.true(sched.includes(`--secure-port=${PORTS.scheduler}`));
  t.true(cm.includes(`--root-ca-file=${W}/pki/apiserver/apiserver.crt`), "the certificate the apiserver writes in its --cert-dir");
  t.true(api.includes(`--cert-dir=${W}/pki/apiserver`));
  const made = [...opensslOutputs(), "tokens.csv", "sa.pub"];
  const read = [...api, ...cm]
    .map((a) => a.split("=")[1] ?? "")
    .filter((v) => v.startsWith(`${c.pki}/`) && !v.includes("/apiserver") && !v.endsWith("/controller-manager"));
  t.true(read.length >= 6);
  t.deepEqual(
    read.filter((p) => !made.includes(p.slice(c.pki.length + 1))),
    [],
  );
  t.true(SECRET_FILES.every((f) => made.includes(f) || f === "token"));
  t.deepEqual(
    CONTROL_PLANE_STOP.map(([n]) => n),
    ["coredns", "provisioner", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"],
    "etcd last",
  );
});

test("certificates and kubeconfig: the token file format, the client extensions, a kubeconfig kubectl can use", (t) => {
  t.is(tokensCsv("abc"), "abc,cybernode-admin,cybernode-admin,system:masters\n");
  t.regex(CLIENT_EXT, /^extendedKeyUsage=clientAuth$/m);
  for (const argv of opensslChains().flat()) t.is(argv[0], "openssl");
  const kc = yaml(kubeconfigYaml(c.apiUrl, "tok"));
  const ctx = kc.contexts.find((x: Json) => x.name === kc["current-context"]);
  t.truthy(ctx);
  const cluster = kc.clusters.find((x: Json) => x.name === ctx.context.cluster);
  const user = kc.users.find((x: Json) => x.name === ctx.context.user);
  t.deepEqual(cluster.cluster, { server: c.apiUrl, "insecure-skip-tls-verify": true });
  t.deepEqual(user.user, { token: "tok" });
});

test("CoreDNS: cluster.local on the node IP through the kubeconfig", (t) => {
  const text = corefile(c);
  t.regex(text, new RegExp(`^\\s+bind ${c.nodeIp.replaceAll(".", "\\.")}$`, "m"));
  t.regex(text, new RegExp(`^\\s+kubeconfig ${c.kubeconfig}$`, "m"));
  t.is(text.split("{").length, text.split("}").length, "braces balanced");
  t.deepEqual(corednsCommand(c), ["/cache/kubernetes-v9.9.9/coredns", "-conf", corefilePath(c)]);
});

test("pause image: config and manifest JSON of a docker-archive that name each other", (t) => {
  const diffId = "a".repeat(64);
  const config = JSON.parse(pauseConfig(diffId)) as Json;
  t.deepEqual(config.rootfs, { type: "layers", diff_ids: [`sha256:${diffId}`] });
  t.deepEqual(config.config.Entrypoint, ["/pause"]);
  t.like(config, { architecture: "amd64", os: "linux" });
  const manifest = JSON.parse(pauseManifest("b".repeat(64), c.pauseImage, diffId)) as Json[];
  t.deepEqual(manifest, [{ Config: `${"b".repeat(64)}.json`, RepoTags: ["localhost/cybernode-pause:1"], Layers: [`${diffId}/layer.tar`] }]);
});

test("StorageClass: YAML of the default class for the provisioner the loop serves", (t) => {
  const sc = yaml(storageClassYaml(c));
  t.like(sc, { kind: "StorageClass", provisioner: c.provisioner, volumeBindingMode: "WaitForFirstConsumer", reclaimPolicy: "Delete" });
  t.is(sc.metadata.name, c.storageClass);
  t.is(sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"], "true");
  const argv = provisionerCommand(c);
  t.is(argv[0], "env");
  t.deepEqual(argv.slice(-2), ["bash", `${W}/provisioner.sh`]);
  t.true(argv.includes(`PROVISIONER=${c.provisioner}`));
  t.true(argv.includes(`VOLUMES=${W}/volumes`));
});

/** Runs provisioner.sh against a fake kubectl that reports one Pending claim and one Released volume. */
async function provisionerRound(dir: string): Promise<{ created: string; calls: string }> {
  const fake = join(dir, "kubectl");
  const pvc = 'cybernode-local|Pending|chains|data-node-0|uid-1|1Gi|cybernode-k8s||["ReadWriteOnce"]|Filesystem';
  const pv = "pvc-old|Released|cybernode.local/hostpath\npvc-other|Released|someone.else/nfs";
  writeFileSync(
    fake,
    `#!/usr/bin/env bash\necho "$*" >>${dir}/calls\ncase "$*" in\n*" get pvc "*) echo '${pvc}' ;;\n` +
      `*" get pv "*) printf '%s\\n' '${pv.split("\n").join("' '")}' ;;\n*" create -f -"*) cat >${dir}/created ;;\nesac\n`,
  );
  chmodSync(fake, 0o755);
  mkdirSync(join(dir, "volumes", "pvc-old"), { recursive: true });
  const argv = provisionerCommand({ ...c, kubectl: fake, workdir: dir, kubeconfig: join(dir, "kc") });
  const child = spawn(argv[0], [...argv.slice(1, -1), PROVISIONER_SOURCE], { stdio: "ignore" });
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && !(existsSync(join(dir, "created")) && readFileSync(join(dir, "calls"), "utf8").includes("delete pv")))
    await new Promise((r) => setTimeout(r, 100));
  child.kill("SIGKILL");
  return { created: readFileSync(join(dir, "created"), "utf8"), calls: readFileSync(join(dir, "calls"), "utf8") };
}

test("provisioner.sh: valid bash; a Pending claim gets a folder and a pre-bound local PV, a Released volume is removed", async (t) => {
  t.is(spawnSync("bash", ["-n", PROVISIONER_SOURCE]).status, 0);
  const dir = mkdtempSync(join(tmpdir(), "cybk8s-prov-"));
  try {
    const { created, calls } = await provisionerRound(dir);
    const pv = yaml(created);
    t.like(pv, { kind: "PersistentVolume", metadata: { name: "pvc-uid-1" } });
    t.is(pv.metadata.annotations["pv.kubernetes.io/provisioned-by"], c.provisioner);
    t.deepEqual(pv.spec.claimRef, { namespace: "chains", name: "data-node-0", uid: "uid-1" });
    t.like(pv.spec, { capacity: { storage: "1Gi" }, storageClassName: c.storageClass, volumeMode: "Filesystem" });
    t.deepEqual(pv.spec.accessModes, ["ReadWriteOnce"]);
    t.is(pv.spec.local.path, join(dir, "volumes", "pvc-uid-1"));
    t.deepEqual(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values, [c.node]);
    t.is(
      spawnSync("stat", ["-c", "%a", join(dir, "volumes", "pvc-uid-1")])
        .stdout.toString()
        .trim(),
      "777",
    );
    t.false(existsSync(join(dir, "volumes", "pvc-old")), "the Released volume's folder is removed");
    t.regex(calls, /delete pv pvc-old --wait=false/);
    t.notRegex(calls, /pvc-other/, "another provisioner's volume is left alone");
    t.regex(calls, new RegExp(`--kubeconfig ${dir}/kc --request-timeout=10s get pvc -A`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("stop's readers: ip output, mountinfo, ctr task lists, shim command lines, CNI result files, log tails", (t) => {
  const ipLine =
    "4621: cybk8s0@cybk8s0p: <BROADCAST,UP> mtu 1500 qdisc noqueue state UP\\    link/ether 8a:98 brd ff:ff\\    alias /tmp/k8s-a";
  t.is(aliasIn(ipLine), "/tmp/k8s-a");
  t.is(aliasIn("5: cybk8s0@cybk8s0p: <UP> mtu 1500"), "");
  t.deepEqual(linkNames("7: veth1a2b@if3: <UP> mtu 1500 master cybk8sbr0\n8: veth9@if4: <UP>\n"), ["veth1a2b", "veth9"]);
  const mountinfo = [
    "1 0 8:1 / / rw - ext4 /dev/sda rw",
    `90 1 8:1 /x ${W}/kubelet rw - ext4 /dev/sda rw`,
    `91 90 0:5 / ${W}/kubelet/pods/p/volumes/v rw - tmpfs tmpfs rw`,
    `92 1 0:6 / ${W}-other/kubelet rw - tmpfs tmpfs rw`,
    `93 1 0:7 / ${W} rw - tmpfs tmpfs rw`,
  ].join("\n");
  t.deepEqual(mountPointsUnder(mountinfo, W), [`${W}/kubelet/pods/p/volumes/v`, `${W}/kubelet`, W]);
  t.true(anyRunning("TASK     PID     STATUS\nabc      123     RUNNING\ndef      0       STOPPED\n"));
  t.false(anyRunning("TASK     PID     STATUS\ndef      0       STOPPED\n"));
  t.false(anyRunning("TASK PID STATUS\n"));
  const shim = ["/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io", "-id", "abc", "-address", c.sock, ""];
  t.true(isShimOf(shim, c.sock));
  t.false(isShimOf(["/usr/bin/containerd-shim-runc-v2", "-address", "/run/containerd/containerd.sock", ""], c.sock));
  t.false(isShimOf(["/usr/bin/containerd-shim-runc-v2", "-address", `${c.sock}.other`, ""], c.sock));
  t.deepEqual(cniResultFiles(["cybernode-k8s-0123abcd-eth0", "cni-loopback-0123abcd-lo", "other-net-1-eth0"], "cybernode-k8s"), [
    "cybernode-k8s-0123abcd-eth0",
    "cni-loopback-0123abcd-lo",
  ]);
  t.is(lastLines("a\nb\nc\n", 2), "b\nc\n");
  t.is(lastLines("a\nb\nc", 5), "a\nb\nc\n");
});

test("stop's limits: only what start made outside WORKDIR, only plain absolute WORKDIRs", (t) => {
  const pre = preexistingText((p) => p === "/var/lib/cni" || p === "/var/log/pods");
  t.is(pre, "/var/log/pods\n/var/lib/cni\n");
  t.false(madeBy(pre, "/var/lib/cni"));
  t.true(madeBy(pre, "/var/lib/cni/results"));
  t.true(madeBy("", "/var/lib/kubelet"), "nothing recorded: everything was made by the cluster");
  t.true(HOST_PATHS.every((p) => p.startsWith("/var/") || p.startsWith("/run/")));
  t.true(refusedWorkdir("/"));
  t.true(refusedWorkdir("/tmp/a b"));
  t.false(refusedWorkdir(W));
  const base = mkdtempSync(join(tmpdir(), "cybk8s-real-"));
  try {
    t.is(realpathMissing(join(base, "missing", "..", "gone", "deeper")), join(base, "gone", "deeper"));
    mkdirSync(join(base, "real"));
    symlinkSync(join(base, "real"), join(base, "link"));
    t.is(realpathMissing(join(base, "link", "new")), join(base, "real", "new"), "symlinks of the existing part resolved");
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test("errors: a failed command is told by its stderr, where it ran and its exit code", (t) => {
  const failed = new ProcessOutput(
    2,
    null,
    "",
    "Error: Unknown device type.\n",
    "",
    "Error: Unknown device type.\n\n    at setUpNetwork (/r/scripts/kubernetes/network.ts:97:9)\n    exit code: 2 (Misuse of shell builtins)",
  );
  t.is(
    describeError(failed),
    "a command failed (exit 2) at setUpNetwork (/r/scripts/kubernetes/network.ts:97:9): Error: Unknown device type.",
  );
  t.is(describeError(new ProcessOutput(1, null, "", "", "", "")), "a command failed (exit 1): (no output)");
  t.is(
    describeError(new ClusterError("etcd exited while waiting for etcd is healthy", "etcd")),
    "etcd exited while waiting for etcd is healthy",
  );
});
