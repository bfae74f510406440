import test from "ava";
import { engineToken } from "../helpers/engineToken";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { collectSteps, engineStack, imagesFolder, newBackend, PROJECT, SKIP_ENGINE, TEST_BASE_CONFIG } from "../helpers/engine";
import { requireDocker } from "../helpers/docker";
import { type KubeCluster, SKIP_KUBERNETES, startKubeCluster } from "../helpers/kubeCluster";
import { poll } from "../helpers/faults";
import { rpc } from "../helpers/rpc";

// A Kubernetes stack under the real Pulumi engine and the real Kubernetes provider, against a real
// single-node cluster (scripts/kubernetes/start.ts): the fixture node and btcd as StatefulSets, their
// images imported into the node's containerd. Pulumi's own readiness await decides when up is done.

const SKIP = SKIP_ENGINE || SKIP_KUBERNETES;
const kubeTest = SKIP ? test.serial.skip : test.serial;
// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects read back as JSON, field by field
type Json = Record<string, any>;

let cluster: KubeCluster;
const images = imagesFolder(["fixnode"]);
const backend = newBackend();
const NS = "cybernode-test";
const NODES = {
  fixnode: {
    image: "fullnode/fixnode",
    restart: "always",
    ports: ["18333:18333", "127.0.0.1:18545:18545"],
    args: ["--shutdown-delay", "3s"],
  },
  btcd: { image: "fullnode/btcd", restart: "always", ports: ["127.0.0.1:8334:8334"], args: ["--simnet", "--nolisten"], stopGrace: 60 },
};

test.before(async () => {
  if (SKIP) return;
  await requireDocker();
  cluster = await startKubeCluster();
});
test.after.always(async () => {
  if (!SKIP && cluster) await cluster.stop();
});

const config = (nodes: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
  "cybernode:imagesDirs": { value: JSON.stringify([images.root, join(PROJECT, "images")]) },
  "cybernode:baseImages": { value: TEST_BASE_CONFIG },
  "cybernode:uid": { value: "1000" },
  "cybernode:kubernetes": {
    value: JSON.stringify({
      kubeconfig: cluster.kubeconfig,
      namespace: NS,
      storageClass: cluster.storageClass,
      dataSize: "1Gi",
      containerd: cluster.containerdSocket,
      ...over,
    }),
  },
  "cybernode:nodes": { value: JSON.stringify(nodes) },
});
const get = async (kind: string, name: string, ns = NS): Promise<Json> =>
  JSON.parse(await cluster.kubectl(["-n", ns, "get", kind, name, "-o", "json"]));
const podIp = async (node: string) => (await get("pod", `${node}-0`)).status.podIP as string;
/** The node's files on its PersistentVolume, found through the claim's volume (a hostPath/local PV on this machine). */
async function dataPath(node: string): Promise<string> {
  const pvc = await get("pvc", `data-${node}-0`);
  const pv = JSON.parse(await cluster.kubectl(["get", "pv", pvc.spec.volumeName, "-o", "json"])) as Json;
  return pv.spec.local?.path ?? pv.spec.hostPath?.path;
}

let firstPodUid = "";

kubeTest("pulumi up: each node is a StatefulSet that becomes Ready, runs as uid 1000 on its claim, and answers RPC", async (t) => {
  const stack = await engineStack("kube", backend, config(NODES));
  const t0 = Date.now();
  const up = await stack.up();
  const upSeconds = (Date.now() - t0) / 1000;
  t.is(up.summary.result, "succeeded");

  const sts = await get("statefulset", "fixnode");
  const pod = sts.spec.template.spec;
  const c = pod.containers[0];
  t.is(sts.status.readyReplicas, 1, "Pulumi's await returned once the Pod was Ready");
  t.regex(c.image, /^cybernode\/fullnode-fixnode:cid-[0-9a-f]{64}$/, "the image the stack built, by its ID");
  t.is(c.imagePullPolicy, "Never");
  t.deepEqual(pod.securityContext, { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, runAsNonRoot: true });
  t.deepEqual(c.securityContext, { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
  t.is(pod.terminationGracePeriodSeconds, 20, "the fixture spec's stop grace");
  t.deepEqual(c.readinessProbe.exec.command, ["/cyberapp/fixnode", "--call", "getblockcount"]);
  t.deepEqual(sts.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" });
  t.is((await get("pvc", "data-fixnode-0")).status.phase, "Bound");
  t.deepEqual(
    (await get("service", "fixnode")).spec.ports.map((p: Json) => p.port),
    [18333, 18545],
  );

  const ip = await podIp("fixnode");
  t.is(((await rpc(18545, "getblockcount", [], "2.0", ip)) as { result: number }).result, 0, "JSON-RPC from the host to the Pod");
  const data = await dataPath("fixnode");
  t.true(existsSync(join(data, "starts.log")), `the node wrote its data on the claim (${data})`);
  t.is(statSync(join(data, "starts.log")).uid, 1000, "as uid 1000");

  const btcd = await get("pod", "btcd-0");
  t.true(
    btcd.status.conditions.some((x: Json) => x.type === "Ready" && x.status === "True"),
    "btcd is Ready: its health check answered",
  );
  const btcdData = await dataPath("btcd");
  t.true(readdirSync(btcdData).length > 0, "btcd writes its chain on its claim");
  t.is(statSync(btcdData).uid === 1000 || statSync(btcdData).gid === 1000, true, "owned by the node's uid or fsGroup");
  t.regex(
    await cluster.kubectl(["-n", NS, "get", "secret", "btcd-files", "-o", "jsonpath={.data.rpc\\.conf}"]),
    /^[A-Za-z0-9+/=]+$/,
    "btcd's rpc.conf is a Secret",
  );
  firstPodUid = (await get("pod", "fixnode-0")).metadata.uid;
  t.log(`first up (2 images built, imported, 2 nodes Ready): ${upSeconds.toFixed(1)} s`);
});

kubeTest("a no-op preview shows no changes, and a no-op up changes nothing", async (t) => {
  const stack = await engineStack("kube", backend, config(NODES));
  const t0 = Date.now();
  const preview = await stack.preview({ expectNoChanges: true });
  const previewSeconds = (Date.now() - t0) / 1000;
  t.deepEqual(Object.keys(preview.changeSummary), ["same"]);
  const t1 = Date.now();
  const up = await stack.up({ expectNoChanges: true });
  t.deepEqual(Object.keys(up.summary.resourceChanges ?? {}), ["same"]);
  t.is((await get("pod", "fixnode-0")).metadata.uid, firstPodUid, "the Pod was not touched");
  t.log(`no-op preview ${previewSeconds.toFixed(1)} s, no-op up ${((Date.now() - t1) / 1000).toFixed(1)} s`);
});

kubeTest("a changed arg rolls the StatefulSet: the old Pod gets its grace period, the new one keeps the data", async (t) => {
  const stack = await engineStack("kube", backend, config({ ...NODES, fixnode: { ...NODES.fixnode, args: ["--shutdown-delay", "4s"] } }));
  const steps = collectSteps();
  await stack.preview({ onEvent: steps.onEvent });
  t.deepEqual(steps.steps(), ["StatefulSet:update"], "only the node's StatefulSet changes");
  const data = await dataPath("fixnode");
  const t0 = Date.now();
  await stack.up();
  const rollSeconds = (Date.now() - t0) / 1000;
  const sts = await get("statefulset", "fixnode");
  t.is(sts.status.currentRevision, sts.status.updateRevision, "up returned once the rollout was complete");
  const pod = await get("pod", "fixnode-0");
  t.not(pod.metadata.uid, firstPodUid, "a new Pod");
  t.true(existsSync(join(data, "clean-shutdown")), "the old Pod was stopped with SIGTERM and flushed before it ended");
  t.true(rollSeconds >= 3, `the roll waited for the daemon's own shutdown (${rollSeconds.toFixed(1)} s)`);
  t.is(readFileSync(join(data, "starts.log"), "utf8").split("\n").filter(Boolean).length, 2, "the same claim, mounted again");
  t.log(`roll to Ready: ${rollSeconds.toFixed(1)} s`);
});

kubeTest("a stack promoting from this one deploys the same image; removing a node keeps its claim", async (t) => {
  const source = (await (await engineStack("kube", backend, config(NODES))).outputs()).images.value as Json;
  const prod = await engineStack("kube-prod", backend, {
    // One node in this cluster: the P2P hostPort is the first stack's, so this one keeps RPC only.
    ...config({ fixnode: { ...NODES.fixnode, ports: ["127.0.0.1:18545:18545"] } }, { namespace: `${NS}-prod` }),
    "cybernode:promoteFrom": { value: "kube" },
  });
  await prod.up();
  const prodSts = await get("statefulset", "fixnode", `${NS}-prod`);
  t.is(prodSts.spec.template.spec.containers[0].image, `cybernode/fullnode-fixnode:cid-${source["fullnode/fixnode"].imageId.slice(7)}`);

  const data = await dataPath("fixnode");
  rmSync(join(data, "clean-shutdown"), { force: true });
  const stack = await engineStack("kube", backend, config({ btcd: NODES.btcd }));
  await stack.up();
  await t.throwsAsync(get("statefulset", "fixnode"), undefined, "the node's StatefulSet is gone");
  // The Pod may still be terminating when the StatefulSet is gone: wait for its marker (or the grace).
  const marked = await poll(() => existsSync(join(data, "clean-shutdown")), 30_000, 250);
  t.true(marked, "the removed node was stopped with SIGTERM and its grace period, and shut down cleanly");
  t.is((await get("pvc", "data-fixnode-0")).status.phase, "Bound", "its data claim is kept");
  await prod.destroy();
  await stack.destroy();
  t.is((await get("namespace", NS, "default")).status.phase, "Active", "destroy keeps the namespace and the claims in it");
  t.is((await get("pvc", "data-btcd-0")).status.phase, "Bound");
});

/** eth_chainId on an Engine API, from this machine to the Pod: the HTTP status and body. */
async function askEngine(ip: string, token: string): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://${ip}:8551/`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
  });
  return { status: r.status, body: await r.text() };
}

kubeTest(
  "the Ethereum pair on the cluster: the shared JWT as a Secret, geth by Service name, the beacon node after geth is Ready",
  async (t) => {
    const ns = `${NS}-pair`;
    const fast = { interval: 5, timeout: 4, retries: 3, startPeriod: 120 };
    const pair = await engineStack("kube-pair", backend, {
      ...config(
        {
          geth: {
            image: "fullnode/geth",
            args: ["--nodiscover", "--maxpeers=0"],
            secrets: ["engine-jwt"],
            ports: ["127.0.0.1:8545:8545"],
            health: fast,
          },
          beacon: {
            image: "fullnode/beacon",
            after: ["geth"],
            secrets: ["engine-jwt"],
            args: ["--mainnet", "--execution-endpoint=http://geth:8551", "--no-discovery"],
            ports: ["127.0.0.1:3500:3500"],
            health: fast,
          },
        },
        { namespace: ns },
      ),
      "cybernode:sharedSecrets": { value: JSON.stringify({ "engine-jwt": { file: "jwt.hex" } }) },
    });
    const t0 = Date.now();
    const up = await pair.up();
    t.is(up.summary.result, "succeeded");
    t.log(`pulumi up to both Pods Ready (2 images imported): ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const [gethPod, beaconSts] = [await get("pod", "geth-0", ns), await get("statefulset", "beacon", ns)];
    const gethReady = gethPod.status.conditions.find((c: Json) => c.type === "Ready");
    t.is(gethReady.status, "True");
    t.true(
      Date.parse(beaconSts.metadata.creationTimestamp) >= Date.parse(gethReady.lastTransitionTime),
      "the beacon node's StatefulSet was made once geth's Pod was Ready",
    );
    for (const name of ["geth", "beacon"]) {
      const pod = await get("pod", `${name}-0`, ns);
      const c = pod.spec.containers[0];
      t.deepEqual(
        c.volumeMounts.find((m: Json) => m.mountPath === "/cybersecrets/jwt.hex"),
        { name: "shared-engine-jwt", mountPath: "/cybersecrets/jwt.hex", subPath: "jwt.hex", readOnly: true },
        `${name} reads the shared secret read-only`,
      );
      t.false(JSON.stringify(c.ports).includes('"hostPort":8551'), `${name}: 8551 is not published on the node`);
    }
    const svc = await get("service", "geth", ns);
    t.is(svc.spec.clusterIP, "None");
    t.true(
      svc.spec.ports.some((p: Json) => p.port === 8551),
      "geth's Service carries the Engine API, which its image exposes",
    );
    const secret = Buffer.from(
      await cluster.kubectl(["-n", ns, "get", "secret", "shared-engine-jwt", "-o", "jsonpath={.data.jwt\\.hex}"]),
      "base64",
    ).toString();
    t.regex(secret, /^[0-9a-f]{64}$/);

    const connected = await poll(
      async () => /Connected to new endpoint.*endpoint="http:\/\/geth:8551"/.test(await cluster.kubectl(["-n", ns, "logs", "beacon-0"])),
      120_000,
      1000,
    );
    t.true(
      connected,
      `the beacon node reached geth by its Service name, authenticated, and found the chain it expects:\n${(
        await cluster.kubectl(["-n", ns, "logs", "beacon-0"])
      )
        .split("\n")
        .filter((l) => /execution|endpoint|jwt|dial|lookup|geth/i.test(l))
        .slice(-10)
        .join("\n")}`,
    );
    const ip = gethPod.status.podIP as string;
    const right = await askEngine(ip, engineToken(secret));
    t.is(right.status, 200, right.body);
    t.regex(right.body, /"result":"0x1"/);
    t.is((await askEngine(ip, engineToken("ab".repeat(32)))).status, 401, "a token not made from the shared secret is refused");
    await pair.destroy();
  },
);
