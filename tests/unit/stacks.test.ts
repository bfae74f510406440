import * as pulumi from "@pulumi/pulumi";
import test, { type ExecutionContext } from "ava";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { load } from "js-yaml";
import { loadSpec } from "../../src/imageSpec/load";
import { join } from "node:path";
import { promotedConfigDigest } from "../../src/program/program";
import { goDuration } from "../../src/program/containerSettings";
import { MOCK_IMAGE_ID, PULLED_IMAGE_ID, runStackWithMocks, type Declared } from "../helpers/pulumiMocks";
import { PROVIDER_VERSION_TOKEN } from "../../src/provider/types";
import { CHECK_HOST_TOKEN } from "../../src/stack/hostProblems";

const PROJECT = join(__dirname, "../..");
const STACKS = readdirSync(join(PROJECT, "stacks")).filter((f) => /^Pulumi\..+\.yaml$/.test(f));
const SECRETS = { "cybernode:btcdExplorerPass": "s3cret-rpc-pass" };
const PLAIN = { "cybernode:uid": "1000" }; // this machine has no user `cyber`
/** The settings a stack file leaves to its operator (each refused when missing, see below). */
const OPERATOR_SETTINGS: Record<string, Record<string, string>> = { eth: { "cybernode:checkpointSyncUrl": "https://checkpoint.example" } };
// biome-ignore lint/suspicious/noExplicitAny: engine inputs are untyped JSON
type Json = Record<string, any>;

/** The engine sees secrets as { <sig>: <secret sig>, value }: unwrap and say whether it was one. */
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
function unwrap(v: unknown): { secret: boolean; value: unknown } {
  if (v && typeof v === "object" && Object.values(v as object).includes(SECRET_SIG))
    return { secret: true, value: (v as { value: unknown }).value };
  return { secret: false, value: v };
}

const FIXTURE_IMAGES = join(PROJECT, "tests/fixtures/images");
/** The nodes a stack file declares, as written. */
function nodesOf(stack: string): Json {
  const doc = load(readFileSync(join(PROJECT, "stacks", `Pulumi.${stack}.yaml`), "utf8")) as Json;
  return doc.config["cybernode:nodes"] ?? {};
}

const of = (declared: Declared[], re: RegExp) => declared.filter((d) => re.test(d.type));
const configOf = (stack: string): Json => (load(readFileSync(join(PROJECT, "stacks", `Pulumi.${stack}.yaml`), "utf8")) as Json).config;

/** What every node of a Kubernetes stack must be: the Docker Container's settings, as a StatefulSet. */
function checkStatefulSet(t: ExecutionContext, stack: string, s: Declared, declared: Declared[]): void {
  const target = configOf(stack)["cybernode:kubernetes"] as Json;
  const node = nodesOf(stack)[s.name] as Json;
  const i = s.inputs as Json;
  t.is(i.metadata.namespace, target.namespace ?? "cybernode");
  t.true(s.opts?.deleteBeforeReplace, "a fixed name: the old StatefulSet goes first");
  const spec = i.spec as Json;
  t.is(spec.replicas, 1);
  t.deepEqual(spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" }, "data is never deleted");
  const claim = spec.volumeClaimTemplates[0];
  t.is(claim.spec.resources.requests.storage, target.dataSize ?? "100Gi");
  if (target.storageClass) t.is(claim.spec.storageClassName, target.storageClass);
  const pod = spec.template.spec;
  const image = loadSpec(join(PROJECT, "images"), node.image).spec;
  t.is(pod.terminationGracePeriodSeconds, node.stopGrace ?? image.container.stopGrace, "the daemon's grace period");
  t.deepEqual(pod.securityContext, { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, runAsNonRoot: true });
  t.false(pod.automountServiceAccountToken);
  const c = pod.containers[0];
  t.is(
    c.image,
    configOf(stack)["cybernode:registry"]
      ? `${configOf(stack)["cybernode:registry"]}/cybernode/x@sha256:${"f".repeat(64)}`
      : `cybernode/x:cid-${"0".repeat(64)}`,
  );
  t.is(c.imagePullPolicy, configOf(stack)["cybernode:registry"] ? "IfNotPresent" : "Never");
  t.deepEqual(c.securityContext, {
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"], add: [] },
  });
  t.deepEqual(c.volumeMounts.slice(0, 2), [
    { name: "data", mountPath: "/cyberdata" },
    { name: "tmp", mountPath: "/tmp" },
  ]);
  t.deepEqual(c.readinessProbe.exec.command, image.run.health?.command, "the image's health check decides Ready");
  if (node.memory) t.regex(c.resources.limits.memory, /^\d+Mi$/);
  for (const p of c.ports as Json[]) {
    if ([8334, 18334, 18545, 9332, 18081, 3500, 8545].includes(p.containerPort))
      t.is(p.hostPort, undefined, `RPC ${p.containerPort} stays in the cluster`);
  }
  const svc = declared.find((d) => d.type === "kubernetes:core/v1:Service" && d.name === s.name);
  t.truthy(svc, "a Service per node");
  t.deepEqual((svc?.inputs as Json | undefined)?.spec?.selector, spec.selector.matchLabels);
  const ns = declared.find((d) => d.type === "kubernetes:core/v1:Namespace");
  t.true(ns?.opts?.retainOnDelete, "the namespace (and its claims) outlive the stack");
}

test("stack files exist for the local host, a remote host, and a staging/prod pair", (t) => {
  for (const s of ["local", "node1", "staging", "prod"]) t.true(STACKS.includes(`Pulumi.${s}.yaml`), s);
});

for (const file of STACKS) {
  const stack = file.slice("Pulumi.".length, -".yaml".length);
  test.serial(`stack ${stack}: images, data folders and containers as its config says`, async (t) => {
    const started = Date.now();
    // Stacks that promote read the source stack's exported images.
    const stackOutputs = { staging: { images: { "fullnode/btcd": { imageId: MOCK_IMAGE_ID } } } };
    // The uid only where the file leaves it to the machine's user `cyber`: a uid the file sets is validated as written.
    const setsUid = configOf(stack)["cybernode:uid"] !== undefined || configOf(stack).uid !== undefined;
    const { declared, outputs } = await runStackWithMocks(stack, join(PROJECT, "stacks", file), {
      plain: { ...(setsUid ? {} : PLAIN), ...OPERATOR_SETTINGS[stack] },
      secrets: SECRETS,
      stackOutputs,
    });
    t.log(`mock run of ${stack}: ${Date.now() - started} ms, ${declared.length} resources`);
    const nodes = outputs.nodes as Record<string, { container: string; image: string; imageId: string; version: string }>;
    const kube = configOf(stack)["cybernode:kubernetes"] !== undefined;
    // A stack without nodes (a build host) declares no Docker provider at all; a cluster's stack neither.
    t.is(of(declared, /^pulumi:providers:docker$/).length, Object.keys(nodes).length && !kube ? 1 : 0);
    t.is(of(declared, /^pulumi:providers:kubernetes$/).length, Object.keys(nodes).length && kube ? 1 : 0);
    const containers = of(declared, /^docker:index\/container:Container$/);
    t.deepEqual(containers.map((c) => c.name).sort(), kube ? [] : Object.keys(nodes).sort());
    const statefulSets = of(declared, /^kubernetes:apps\/v1:StatefulSet$/);
    t.deepEqual(statefulSets.map((c) => c.name).sort(), kube ? Object.keys(nodes).sort() : []);
    const images = of(declared, /^cybernode:index:Image$/);
    t.deepEqual(
      images.map((i) => i.name).sort(),
      Object.keys(outputs.images as object)
        .map((n) => n.replace("/", "-"))
        .sort(),
      "one component per exported image",
    );
    t.true(
      Object.values(nodes).every((n) => n.image in (outputs.images as object)),
      "every node's image is built",
    );
    for (const kind of ["BuildImage", "Binaries", "RunImage"]) {
      const children = of(declared, new RegExp(kind));
      t.is(children.length, images.length, kind);
      t.true(
        children.every((c) => images.some((i) => i.name === c.parentName)),
        `${kind} is a child of its Image`,
      );
    }
    for (const c of containers) {
      const i = c.inputs as Json;
      t.is(i.name, c.name);
      t.is(i.user, "1000:1000");
      t.regex(String(i.restart), /^(no|always|unless-stopped|on-failure(:\d+)?)$/);
      t.is(i.image, MOCK_IMAGE_ID, "runs the run image by ID");
      const shared = ((nodesOf(stack)[c.name] as Json).secrets ?? []) as string[];
      const sharedFiles = configOf(stack)["cybernode:sharedSecrets"] ?? {};
      t.deepEqual(i.volumes, [
        { hostPath: `/home/cyber/cyberdata/${c.name}`, containerPath: "/cyberdata" },
        ...shared.map((name) => ({
          hostPath: `/home/cyber/cyberdata/.secrets/${name}/${sharedFiles[name].file}`,
          containerPath: `/cybersecrets/${sharedFiles[name].file}`,
          readOnly: true,
        })),
      ]);
      t.is(i.networkMode, configOf(stack)["cybernode:network"] ?? `cybernode-${stack}`, "the stack's own network");
      t.true(c.opts?.deleteBeforeReplace, "fixed name and ports: delete before replace");
      t.true(i.readOnly, "read-only root filesystem");
      t.deepEqual(Object.keys(i.tmpfs ?? {}), ["/tmp"]);
      t.deepEqual(i.securityOpts, ["no-new-privileges:true"]);
      t.deepEqual(i.capabilities, { drops: ["ALL"], adds: [] });
      // Graceful stop on docker stop (stopTimeout) and on replace/destroy (destroyGraceSeconds): the
      // spec's grace, or the node's own; never the provider's default of an immediate SIGKILL.
      const spec = loadSpec(
        c.name === "fixnode" ? FIXTURE_IMAGES : join(PROJECT, "images"),
        String(i.labels.find((l: Json) => l.label === "cybernode.image").value),
      ).spec;
      const grace = (nodesOf(stack)[c.name] as Json).stopGrace ?? spec.container.stopGrace;
      t.is(i.stopSignal, spec.container.stopSignal, `${stack}/${c.name} stop signal`);
      t.is(i.stopTimeout, grace, `${stack}/${c.name} stopTimeout`);
      t.is(i.destroyGraceSeconds, grace, `${stack}/${c.name} destroyGraceSeconds`);
      t.true(grace >= 20, "a daemon gets at least 20 s to flush");
      t.is(i.logDriver, "json-file");
      const logs = (nodesOf(stack)[c.name] as Json).logs ?? {};
      t.deepEqual(i.logOpts, { "max-size": logs.maxSize ?? "50m", "max-file": String(logs.maxFiles ?? 3) }, "rotating logs");
      t.is(i.healthcheck, undefined, "the run image's own health check applies");
      for (const p of i.ports as Json[])
        if ([8334, 18334, 18545].includes(p.internal)) t.is(p.ip, "127.0.0.1", `RPC port ${p.internal} on loopback`);
      const command = unwrap(i.command);
      const carriesSecret = JSON.stringify(command.value).includes(SECRETS["cybernode:btcdExplorerPass"]);
      t.is(command.secret, carriesSecret, "args are secret exactly when they carry a secret");
      t.false(JSON.stringify({ ...i, command: null }).includes(SECRETS["cybernode:btcdExplorerPass"]), "the secret appears nowhere else");
    }
    for (const s of statefulSets) checkStatefulSet(t, stack, s, declared);
    const dirs = of(declared, /DataDir/);
    t.is(dirs.length, containers.length, "data folders on Docker hosts; PersistentVolumeClaims on clusters");
    t.true(
      dirs.every((d) => (d.inputs as Json).uid === 1000 && d.opts?.retainOnDelete === true),
      "data folders owned by the uid, retained on delete",
    );
  });
}

test.serial("an images-only stack builds and pushes its cybernode:images with no Docker provider and no container", async (t) => {
  const { declared, outputs } = await runStackWithMocks("build", join(PROJECT, "stacks/Pulumi.build.yaml"));
  t.deepEqual(Object.keys(outputs.images as object).sort(), ["fullnode/btcd", "fullnode/litecoind", "fullnode/monerod"]);
  t.deepEqual(outputs.nodes, {});
  t.deepEqual(of(declared, /^(pulumi:providers:docker|docker:)/), [], "nothing from @pulumi/docker");
  const runs = of(declared, /RunImage/);
  t.true(
    runs.every((r) => (r.inputs as Json).registry === "registry.example.com:5000/cybernode"),
    "each run image is pushed to the registry",
  );
});

test.serial(
  "the program calls the provider plugin first (so it starts while the specs load), and only when the stack has work for it",
  async (t) => {
    const local = await runStackWithMocks("local", join(PROJECT, "stacks/Pulumi.local.yaml"));
    t.deepEqual(local.calls, [PROVIDER_VERSION_TOKEN, CHECK_HOST_TOKEN], "images and nodes: the version first, then the host check");
    const build = await runStackWithMocks("build", join(PROJECT, "stacks/Pulumi.build.yaml"));
    t.deepEqual(build.calls, [PROVIDER_VERSION_TOKEN], "images only");
    const firstImage = build.arrivals.indexOf("cybernode:index:Image");
    t.true(firstImage > 0 && build.arrivals.indexOf(PROVIDER_VERSION_TOKEN) < firstImage, "the call reaches the engine before any image");
    const idle = await runStackWithMocks("build", join(PROJECT, "stacks/Pulumi.build.yaml"), { plain: { images: [] } });
    t.deepEqual(idle.calls, [], "no images and no nodes: the plugin is not started");
    t.deepEqual(Object.keys(idle.outputs.images as object), []);
  },
);

test.serial("btcd on node1: seed ports, secret RPC password, image shipped to the ssh host", async (t) => {
  const { declared } = await runStackWithMocks("node1", join(PROJECT, "stacks/Pulumi.node1.yaml"), { secrets: SECRETS });
  const btcd = of(declared, /Container$/).find((c) => c.name === "btcd")!.inputs as Json;
  t.deepEqual(btcd.ports.map((p: Json) => `${p.ip}:${p.external}:${p.internal}`).sort(), ["0.0.0.0:8333:8333", "127.0.0.1:8334:8334"]);
  t.is(btcd.restart, "always");
  const command = unwrap(btcd.command);
  t.true(command.secret, "args with the RPC password are a secret in the engine and in state");
  t.true((command.value as string[]).includes(`--rpclimitpass=${SECRETS["cybernode:btcdExplorerPass"]}`));
  const run = of(declared, /RunImage/)[0].inputs as Json;
  t.is(run.targetHost, "ssh://cyber@node1");
  t.is(run.buildHost, "", "built on the machine running Pulumi");
  t.is(of(declared, /^pulumi:providers:docker$/)[0].inputs.host, "ssh://cyber@node1");
});

test.serial("btcd on a Podman host: built there (buildOn: host), run there through Podman's socket", async (t) => {
  const { declared } = await runStackWithMocks("podman1", join(PROJECT, "stacks/Pulumi.podman1.yaml"), { engine: "podman" });
  const socket = "unix:///run/podman/podman.sock";
  t.is(of(declared, /^pulumi:providers:docker$/)[0].inputs.host, socket, "containers are created through Podman's API");
  for (const kind of [/BuildImage/, /Binaries/, /RunImage/])
    t.is((of(declared, kind)[0].inputs as Json).buildHost, socket, "steps run on Podman");
  const run = of(declared, /RunImage/)[0].inputs as Json;
  t.is(run.targetHost, socket, "nothing to ship: the image is loaded where it was built");
  t.is((of(declared, /DataDir/)[0].inputs as Json).host, socket, "the data folder is made on this machine");
  const btcd = of(declared, /Container$/)[0].inputs as Json;
  t.is(btcd.restart, "always");
  t.is(btcd.stopTimeout, 300);
  t.is(btcd.stopSignal, "15", "Podman reports the stop signal as a number: declared so, or every update replaces the node");
  t.deepEqual(Object.keys(btcd.tmpfs).sort(), ["/run", "/tmp", "/var/tmp"], "the tmpfs mounts Podman adds to a read-only root");
  t.is(btcd.logOpts, undefined, "Podman reports no log options back");
});

test.serial("changing one node's config replaces nothing of another node (figure: resources changed)", async (t) => {
  const file = join(PROJECT, "stacks/Pulumi.local.yaml");
  const before = await runStackWithMocks("local", file, { plain: PLAIN });
  const nodes = JSON.parse(JSON.stringify((await import("js-yaml")).load(require("node:fs").readFileSync(file, "utf8")))).config[
    "cybernode:nodes"
  ];
  nodes.btcd.args = ["--testnet", "--maxpeers=8"];
  nodes.btcd.restart = "unless-stopped";
  const after = await runStackWithMocks("local", file, { plain: { ...PLAIN, "cybernode:nodes": nodes } });
  const key = (d: Declared) => `${d.type}/${d.name}`;
  const changed = after.declared.filter((d) => {
    const old = before.declared.find((o) => key(o) === key(d));
    return !old || JSON.stringify(old.inputs) !== JSON.stringify(d.inputs);
  });
  t.log(`resources with changed inputs: ${changed.map(key).join(", ") || "none"}`);
  t.deepEqual(
    changed.map((d) => d.name),
    ["btcd"],
    "only btcd's container changes",
  );
});

const STAGING_ID = `sha256:${"5".repeat(64)}`;

test.serial("prod promotes from staging: the run image must reproduce staging's image ID", async (t) => {
  const { declared } = await runStackWithMocks("prod", join(PROJECT, "stacks/Pulumi.prod.yaml"), {
    secrets: SECRETS,
    stackOutputs: { staging: { images: { "fullnode/btcd": { imageId: STAGING_ID, version: "btcd v0.26.2", artifacts: [] } } } },
  });
  const ref = declared.find((d) => d.type === "pulumi:pulumi:StackReference");
  t.is((ref as Declared).inputs.name, "organization/cybernode/staging");
  const run = of(declared, /RunImage/)[0].inputs as Json;
  t.is(run.promotedImageId, STAGING_ID);
  t.is(run.promotedFrom, "staging");
  t.is((of(declared, /Container$/)[0].inputs as Json).image, STAGING_ID);
});

test("promotion refuses a source stack without the image, without an images output, or with a malformed ID", (t) => {
  t.is(promotedConfigDigest({ "fullnode/btcd": { imageId: STAGING_ID } }, "fullnode/btcd", "staging", "prod"), STAGING_ID);
  t.throws(() => promotedConfigDigest({ "fullnode/other": { imageId: STAGING_ID } }, "fullnode/btcd", "staging", "prod"), {
    message: /stack prod promotes from staging, but staging exports no image fullnode\/btcd.*Nothing was changed on prod/,
  });
  const MANIFEST_DIGEST = `sha256:${"e".repeat(64)}`;
  t.is(
    promotedConfigDigest({ "fullnode/btcd": { imageId: MANIFEST_DIGEST, configDigest: STAGING_ID } }, "fullnode/btcd", "staging", "prod"),
    STAGING_ID,
    "containerd store: the config digest is compared, not Docker's manifest-digest ID",
  );
  t.throws(() => promotedConfigDigest(undefined, "fullnode/btcd", "staging", "prod"), { message: /staging has no images output/ });
  t.throws(() => promotedConfigDigest({ "fullnode/btcd": { imageId: "latest" } }, "fullnode/btcd", "staging", "prod"), {
    message: /exports no image/,
  });
});

test.serial("with cybernode:registry the host pulls the run image by digest instead of receiving it", async (t) => {
  const { declared } = await runStackWithMocks("node1", join(PROJECT, "stacks/Pulumi.node1.yaml"), {
    secrets: SECRETS,
    plain: { "cybernode:registry": "registry.example.com:5000/cybernode" },
  });
  const pull = of(declared, /RemoteImage$/);
  t.is(pull.length, 1);
  t.regex(String(pull[0].inputs.name), /^registry\.example\.com:5000\/cybernode\/.+@sha256:[0-9a-f]{64}$/);
  t.is((of(declared, /Container$/)[0].inputs as Json).image, PULLED_IMAGE_ID, "the container runs the pulled image");
  t.is((of(declared, /RunImage/)[0].inputs as Json).registry, "registry.example.com:5000/cybernode");
});

test.serial(
  "a node's operating overrides reach its container: health, limits, stop signal; the data folder gets btcd's rpc.conf template only",
  async (t) => {
    const file = join(PROJECT, "stacks/Pulumi.local.yaml");
    const nodes = nodesOf("local");
    nodes.btcd = { ...nodes.btcd, health: { interval: 120 }, memory: "1.5g", cpus: 2, stopSignal: "INT", stopGrace: 900 };
    const { memory: _m, cpus: _c, ...fixnode } = nodes.fixnode as Json;
    nodes.fixnode = { ...fixnode, health: false, logs: { maxSize: "10m", maxFiles: 2 } };
    const { declared } = await runStackWithMocks("local", file, { plain: { ...PLAIN, "cybernode:nodes": nodes } });
    const input = (name: string) => of(declared, /Container$/).find((c) => c.name === name)?.inputs as Json;
    const btcd = input("btcd");
    const spec = loadSpec(join(PROJECT, "images"), "fullnode/btcd").spec;
    t.deepEqual(btcd.healthcheck, {
      tests: ["CMD", ...(spec.run.health?.command ?? [])],
      // As the engine reads them back (Go durations), so a preview after up shows nothing.
      interval: "2m0s",
      timeout: goDuration(spec.run.health?.timeout ?? 0),
      startPeriod: goDuration(spec.run.health?.startPeriod ?? 0),
      retries: spec.run.health?.retries,
    });
    t.is(btcd.memory, 1536, "MiB, as @pulumi/docker takes it");
    t.is(btcd.memorySwap, 3072, "Docker's default swap, written out");
    t.is(btcd.cpus, "2");
    t.is(btcd.stopSignal, "SIGINT");
    t.is(btcd.stopTimeout, 900);
    t.is(btcd.destroyGraceSeconds, 900);
    const fix = input("fixnode");
    t.deepEqual(fix.healthcheck, { tests: ["NONE"] }, "health: false turns the image's check off");
    t.deepEqual(fix.logOpts, { "max-size": "10m", "max-file": "2" });
    t.is(fix.memory, undefined, "no limit unless set");
    const dir = of(declared, /DataDir/).find((d) => d.name === "btcd-data")?.inputs as Json;
    t.deepEqual(dir.secretFiles, [["rpc.conf", "rpcuser=cybernode\nrpcpass=${random}\n"]], "a template: the password is made on the host");
  },
);

test("under mocks, a stack file key in a misspelled namespace fails the program naming the key; one without a namespace is the project's", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "cybernode-stackfile-"));
  const file = join(dir, "Pulumi.node9.yaml");
  writeFileSync(file, "config:\n  cybrnode:host: ssh://cyber@node9\n  cybernode:images: []\n");
  const err = await t.throwsAsync(runStackWithMocks("node9", file, { plain: PLAIN }));
  t.true(pulumi.RunError.isInstance(err), "a RunError: Pulumi prints its message without a stack trace");
  t.regex(
    err!.message,
    /stack file stacks\/Pulumi\.node9\.yaml: cybrnode:host: 'cybrnode' is not this project's namespace.*write cybernode:host/,
  );
  writeFileSync(file, "config:\n  host: ssh://cyber@node9\n  images: []\n");
  const { outputs } = await runStackWithMocks("node9", file, { plain: PLAIN });
  t.is(outputs.host, "ssh://cyber@node9", "the key without a namespace is cybernode:host");
  rmSync(dir, { recursive: true, force: true });
});

test.serial(
  "eth: geth and beacon share the network and the JWT, the beacon node starts once geth is healthy, 8551 stays off the host",
  async (t) => {
    const { declared } = await runStackWithMocks("eth", join(PROJECT, "stacks/Pulumi.eth.yaml"), {
      plain: { ...PLAIN, ...OPERATOR_SETTINGS.eth },
    });
    const containers = of(declared, /Container$/);
    const geth = containers.find((c) => c.name === "geth") as Declared;
    const beacon = containers.find((c) => c.name === "beacon") as Declared;
    const [network] = of(declared, /^docker:index\/network:Network$/);
    t.deepEqual(network.inputs as Json, {
      name: "cybernode-eth",
      driver: "bridge",
      labels: [{ label: "cybernode.stack", value: "eth" }],
    });
    for (const c of [geth, beacon]) {
      t.false(
        (c.inputs.ports as Json[]).some((p) => p.internal === 8551),
        `${c.name}: the Engine API is not published`,
      );
      t.true(c.opts?.dependsOn?.includes("secret-engine-jwt"), `${c.name} mounts the shared secret`);
    }
    const beaconArgs = beacon.inputs.command as string[];
    t.true(beaconArgs.includes("--execution-endpoint=http://geth:8551"), "geth by node name on the stack's network");
    t.true(beaconArgs.includes("--checkpoint-sync-url=https://checkpoint.example"), "the operator's setting");
    t.true(beaconArgs.includes("--jwt-secret=/cybersecrets/jwt.hex"));
    t.true((geth.inputs.command as string[]).includes("--authrpc.jwtsecret=/cybersecrets/jwt.hex"));
    t.true(beacon.opts?.dependsOn?.includes("geth"), "beacon is made after geth");
    t.false(geth.opts?.dependsOn?.includes("beacon"));
    t.is(geth.inputs.wait, true, "up waits for geth to be healthy before it makes the beacon node");
    t.is(geth.inputs.waitTimeout, 600 + 4 * 70 + 60);
    t.is(beacon.inputs.wait, undefined, "nothing waits for the beacon node");
    t.deepEqual(
      (beacon.inputs.labels as Json[]).find((l) => l.label === "cybernode.after"),
      { label: "cybernode.after", value: "geth" },
      "the preview shows the order",
    );
    const [secret] = of(declared, /SharedSecret$/);
    t.like(secret.inputs as Json, { dir: "/home/cyber/cyberdata/.secrets/engine-jwt", file: "jwt.hex", template: "${random}", uid: 1000 });
    t.true(secret.opts?.retainOnDelete, "kept when the stack goes, like the data folders");
  },
);

test.serial("eth without its checkpoint sync URL is refused, saying what the setting is and how to set it", async (t) => {
  const e = await t.throwsAsync(runStackWithMocks("eth", join(PROJECT, "stacks/Pulumi.eth.yaml"), { plain: PLAIN }));
  t.regex(
    String(e?.message),
    /cybernode:nodes\.beacon\.args: uses \$\{config:checkpointSyncUrl\} but cybernode:checkpointSyncUrl is not set \(a Beacon API you trust .*\): pulumi config set --stack eth cybernode:checkpointSyncUrl <value>/,
  );
  t.is(String(e?.message).split("checkpointSyncUrl is not set").length, 2, "said once, although two args use it");
});
