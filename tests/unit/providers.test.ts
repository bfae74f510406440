import test from "ava";
import type { BinManifest } from "../../src/builder/manifest";
import { imageOps } from "../../src/provider/imageOps";
import { pluginProvider } from "../../src/provider/dispatch";
import { binariesDigest, planHash, stored, UNKNOWN } from "../../src/provider/storedInputs";
import { PROVIDER_VERSION } from "../../src/provider/types";
import type { BinariesInputs, BuildImageInputs, BuildImageOutputs, RunImageInputs, RunImageOutputs } from "../../src/provider/types";
import type { World } from "../../src/provider/world";
import { sha256 } from "../../src/common/hash";

// The image resources' decisions (check, diff, read, what create and update store) driven through a
// fake World: no Docker, no spec loading. Each test names the rule it pins.

const SECRET_VALUE = "https://user:s3cret-token@proxy.example.com";
const BASE_ID = `sha256:${"b".repeat(64)}`;
const RUN_ID = `sha256:${"r".repeat(64)}`;

const phase = {
  image: "fullnode/btcd",
  projectDir: "/p",
  imagesRoot: "/p/images",
  baseImages: { "golang:1.26-bookworm": "local/go" },
  buildEnv: { GOPROXY: SECRET_VALUE },
  buildHost: "",
  providerVersion: PROVIDER_VERSION,
};
const buildIn: BuildImageInputs = { ...phase, buildHash: "h1" };
const binIn: BinariesInputs = { ...phase, buildKey: "key1", extraction: "x1" };
const runIn: RunImageInputs = {
  ...phase,
  runHash: "r1",
  binariesDigest: "d1",
  targetHost: "",
  promotedImageId: "",
  promotedFrom: "",
  registry: "",
};

const manifest = (version = "1.0"): BinManifest => ({
  image: "fullnode/btcd",
  version,
  buildKey: "key1",
  extraction: "x1",
  files: [{ path: "btcd", size: 3, mode: 0o755, sha256: "f".repeat(64) }],
  artifacts: ["btcd"],
  libs: [],
});

/** What the fake build reports, and what state a BuildImage keeps of it. */
const BUILT = {
  buildKey: "key1",
  buildTag: "cybernode-build/btcd:key1",
  baseImageId: BASE_ID,
  stepsRun: 2,
  baseRef: "local/go",
  passEnvNames: ["GOPROXY"],
};

/** A World whose answers each test sets, recording every question asked. */
function fakeWorld(over: Partial<World> & { images?: Record<string, string>; bases?: Record<string, string> } = {}) {
  const asked: string[] = [];
  const images = over.images ?? {};
  const bases = over.bases ?? { "local/go": BASE_ID };
  const note = <T>(question: string, answer: T): T => {
    asked.push(question);
    return answer;
  };
  const world: World = {
    env: { PATH: "/bin" },
    imageIdOf: async (ref, host) => note(`image ${host}|${ref}`, images[`${host}|${ref}`] ?? null),
    baseImageIdOf: async (ref, host) => note(`base ${host}|${ref}`, bases[ref] ?? null),
    containerdHas: async (socket, ref) => note(`containerd ${socket}|${ref}`, false),
    currentManifest: (binDir, key, x) => note(`bin ${binDir} ${key} ${x}`, null),
    tell: async (_urn, m) => void asked.push(`tell ${m}`),
    planBuild: async () => note("plan", null),
    build: async () => note("build", { ...BUILT }),
    extract: async () => note("extract", { buildKey: "key1", manifest: manifest() }),
    assemble: async () => {
      asked.push("assemble");
      return { imageId: RUN_ID, version: "1.0", tags: ["cybernode/btcd:1.0"], shippedBytes: 0, pullRef: "", configDigest: RUN_ID };
    },
    ...over,
  };
  return { world, asked, p: imageOps(world) };
}

/** State a BuildImage wrote for buildIn on a host whose GOPROXY was the stack's value. */
const builtState = (over: Partial<BuildImageOutputs> = {}): BuildImageOutputs => ({
  ...stored(buildIn),
  ...BUILT,
  planHash: planHash([["GOPROXY", SECRET_VALUE]]),
  ...over,
});
const TAG_PRESENT = { "|cybernode-build/btcd:key1": "sha256:step" };

test("check: an image that is not group/name and a relative project folder are refused, naming the property", async (t) => {
  const { p } = fakeWorld();
  for (const ops of [p.buildImage, p.binaries, p.runImage]) {
    const r = await ops.check!({}, { ...runIn, ...binIn, ...buildIn, image: "btcd", projectDir: "p" });
    t.deepEqual(
      r.failures?.map((f) => f.property),
      ["image", "projectDir"],
    );
  }
});

test("BuildImage diff: nothing changed and the stored key holds: no change, and no spec is loaded", async (t) => {
  const { p, asked } = fakeWorld({ images: TAG_PRESENT });
  const d = await p.buildImage.diff!("id", builtState(), buildIn);
  t.false(d.changes);
  t.deepEqual(d.stables, ["buildKey", "buildTag"]);
  t.false(asked.includes("plan"), "the spec is not loaded while the stored key holds");
});

test("BuildImage diff: a changed input is a change before the world is asked", async (t) => {
  const { p, asked } = fakeWorld({ images: TAG_PRESENT });
  for (const news of [
    { ...buildIn, buildHash: "h2" },
    { ...buildIn, buildEnv: { GOPROXY: "https://other" } },
  ]) {
    t.true((await p.buildImage.diff!("id", builtState(), news)).changes);
  }
  t.deepEqual(asked, []);
});

test("BuildImage diff: a re-pulled base, a new passed-through value on the host, or a removed step image is a change", async (t) => {
  const repulled = fakeWorld({ images: TAG_PRESENT, bases: { "local/go": `sha256:${"c".repeat(64)}` } });
  t.true((await repulled.p.buildImage.diff!("id", builtState(), buildIn)).changes, "base image ID differs");
  // The stack sets no buildEnv: the host's GOPROXY is what passes through, and it changed.
  const hostEnv = fakeWorld({ images: TAG_PRESENT, env: { GOPROXY: "https://new" } });
  const noStackEnv = { ...buildIn, buildEnv: {} };
  const state = { ...builtState(), ...stored(noStackEnv), planHash: planHash([["GOPROXY", "https://old"]]) };
  t.true((await hostEnv.p.buildImage.diff!("id", state, noStackEnv)).changes, "passed-through value differs");
  const cleaned = fakeWorld({ images: {} });
  t.true((await cleaned.p.buildImage.diff!("id", builtState(), buildIn)).changes, "step image gone");
});

test("BuildImage diff: state without the plan fields, or a base no longer there, falls back to the full plan", async (t) => {
  const plan = (buildKey: string) => async () => ({
    buildKey,
    buildTag: `cybernode-build/btcd:${buildKey}`,
    binDir: "/p/images/fullnode/btcd/bin",
    extraction: "x1",
    predictRunImageId: async () => RUN_ID,
  });
  const old = builtState({ baseRef: undefined });
  const same = fakeWorld({ images: TAG_PRESENT, planBuild: plan("key1") });
  t.false((await same.p.buildImage.diff!("id", old, buildIn)).changes, "same planned key and its image there");
  const other = fakeWorld({ images: { "|cybernode-build/btcd:key2": "x" }, planBuild: plan("key2") });
  t.true((await other.p.buildImage.diff!("id", old, buildIn)).changes, "another planned key");
  const baseGone = fakeWorld({ images: TAG_PRESENT, bases: {} });
  t.true((await baseGone.p.buildImage.diff!("id", builtState(), buildIn)).changes, "no base: the plan (null here) decides");
  t.true(baseGone.asked.includes("plan"));
});

test("BuildImage create and update store the build's outputs, a hash of buildEnv and never its values", async (t) => {
  const { p, asked } = fakeWorld();
  const created = await p.buildImage.create(buildIn, "urn");
  const updated = await p.buildImage.update!("id", builtState(), buildIn, "urn");
  t.is(created.id, "fullnode/btcd@build");
  for (const outs of [created.outs, updated.outs]) {
    t.false(JSON.stringify(outs).includes("s3cret"), "no secret value in state");
    t.is(outs.buildEnv, undefined);
    t.is(outs.buildEnvHash, stored(buildIn).buildEnvHash);
    t.is(outs.buildKey, "key1");
    t.is(outs.planHash, planHash([["GOPROXY", SECRET_VALUE]]), "the stack's value, laid over the host's, is what passes");
  }
  t.deepEqual(asked, ["build", "build"]);
});

test("Binaries diff: a changed build or extraction is a change; otherwise bin/ decides", async (t) => {
  const stale = fakeWorld();
  const olds = { ...stored(binIn), version: "1.0", files: [], digest: "d" };
  t.true((await stale.p.binaries.diff!("id", olds, { ...binIn, extraction: "x2" })).changes);
  t.true((await stale.p.binaries.diff!("id", olds, binIn)).changes, "bin/ not current");
  t.deepEqual(stale.asked, ["bin /p/images/fullnode/btcd/bin key1 x1"]);
  const current = fakeWorld({ currentManifest: () => manifest() });
  const d = await current.p.binaries.diff!("id", olds, binIn);
  t.false(d.changes);
  t.deepEqual(d.stables, ["digest", "version", "files"]);
});

test("Binaries create stores the files (path, size, sha256), the version and their digest; no buildEnv value", async (t) => {
  const { p } = fakeWorld();
  const { id, outs } = await p.binaries.create(binIn);
  t.is(id, "fullnode/btcd@bin");
  const files = [{ path: "btcd", size: 3, sha256: "f".repeat(64) }];
  t.deepEqual(outs.files, files);
  t.is(outs.digest, binariesDigest(files, "1.0", sha256));
  t.false(JSON.stringify(outs).includes("s3cret"));
});

const runState = (over: Partial<RunImageOutputs> = {}): RunImageOutputs => ({
  ...stored(runIn),
  imageId: RUN_ID,
  version: "1.0",
  tags: ["cybernode/btcd:1.0"],
  shippedBytes: 0,
  pullRef: "",
  present: true,
  configDigest: RUN_ID,
  ...over,
});

test("RunImage diff: present where the nodes run is no change; pruned, or recorded missing by refresh, is a reload", async (t) => {
  const there = fakeWorld({ images: { [`|${RUN_ID}`]: RUN_ID } });
  t.false((await there.p.runImage.diff!("id", runState(), runIn)).changes);
  const pruned = fakeWorld();
  t.true((await pruned.p.runImage.diff!("id", runState(), runIn)).changes);
  t.true((await there.p.runImage.diff!("id", runState({ present: false }), runIn)).changes);
  t.true((await there.p.runImage.diff!("id", runState(), { ...runIn, binariesDigest: "d2" })).changes);
});

test("RunImage looks for the image on the host the nodes run on, and for a cluster in its containerd too", async (t) => {
  const remote = { ...runIn, targetHost: "ssh://cyber@node1" };
  const onRemote = fakeWorld({ images: { [`ssh://cyber@node1|${RUN_ID}`]: RUN_ID } });
  t.false((await onRemote.p.runImage.diff!("id", runState(stored(remote)), remote)).changes);
  const onlyLocal = fakeWorld({ images: { [`|${RUN_ID}`]: RUN_ID } });
  t.true((await onlyLocal.p.runImage.diff!("id", runState(stored(remote)), remote)).changes, "only the build host has it");

  const cluster = { ...runIn, targetHost: "containerd:///run/k/containerd.sock" };
  const state = runState({ ...stored(cluster), pullRef: "cybernode/btcd@sha256:x" });
  const imported = fakeWorld({ images: { [`|${RUN_ID}`]: RUN_ID }, containerdHas: async () => true });
  t.false((await imported.p.runImage.diff!("id", state, cluster)).changes);
  const notImported = fakeWorld({ images: { [`|${RUN_ID}`]: RUN_ID } });
  t.true((await notImported.p.runImage.diff!("id", state, cluster)).changes);
  t.true(notImported.asked.includes("containerd /run/k/containerd.sock|cybernode/btcd@sha256:x"));
});

test("RunImage read (pulumi refresh) records whether the image is still there", async (t) => {
  const gone = fakeWorld();
  t.false((await gone.p.runImage.read!("id", runState())).props.present);
  const there = fakeWorld({ images: { [`|${RUN_ID}`]: RUN_ID } });
  t.true((await there.p.runImage.read!("id", runState({ present: false }))).props.present);
});

test("RunImage check: a promotion is refused at preview when bin/ is current and the predicted image ID differs", async (t) => {
  const promoted = { ...runIn, promotedImageId: `sha256:${"1".repeat(64)}`, promotedFrom: "test" };
  const plan = (predicted: string) => async () => ({
    buildKey: "key1",
    buildTag: "t",
    binDir: "/p/images/fullnode/btcd/bin",
    extraction: "x1",
    predictRunImageId: async () => predicted,
  });
  const differs = fakeWorld({ planBuild: plan(RUN_ID), currentManifest: () => manifest() });
  const r = await differs.p.runImage.check!({}, promoted);
  t.is(r.failures?.length, 1);
  t.is(r.failures?.[0].property, "promotedImageId");
  t.regex(r.failures?.[0].reason ?? "", /refusing to deploy.*stack test ran sha256:1111/);
  const same = fakeWorld({ planBuild: plan(promoted.promotedImageId), currentManifest: () => manifest() });
  t.deepEqual((await same.p.runImage.check!({}, promoted)).failures, []);
  // bin/ not current: the ID is known only after the build; the preview says so and up decides.
  const later = fakeWorld({ planBuild: plan(RUN_ID) });
  t.deepEqual((await later.p.runImage.check!({}, promoted)).failures, []);
  t.true(later.asked.some((a) => a.startsWith("tell image fullnode/btcd: promotion from test is checked at pulumi up")));
  // No promotion, or one whose ID is not known yet in this preview: nothing is planned.
  for (const id of ["", UNKNOWN]) {
    const none = fakeWorld();
    t.deepEqual((await none.p.runImage.check!({}, { ...runIn, promotedImageId: id })).failures, []);
    t.deepEqual(none.asked, []);
  }
});

test("RunImage create and update record the image as present, with no buildEnv value", async (t) => {
  const { p } = fakeWorld();
  const created = await p.runImage.create(runIn);
  t.is(created.id, "fullnode/btcd@run");
  t.true(created.outs.present);
  t.is(created.outs.imageId, RUN_ID);
  const updated = await p.runImage.update!("id", runState({ present: false }), runIn);
  t.true(updated.outs.present);
  t.false(JSON.stringify([created.outs, updated.outs]).includes("s3cret"));
});

test("through the plugin, a secret-wrapped buildEnv reaches the build unwrapped and never its outputs", async (t) => {
  let seen: BuildImageInputs | undefined;
  const { world } = fakeWorld();
  const p = imageOps({
    ...world,
    build: async (i) => {
      seen = i;
      return world.build(i);
    },
  });
  const plugin = pluginProvider({ "cybernode-images:index:BuildImage": p.buildImage }, "1");
  const wrapped = {
    ...buildIn,
    buildEnv: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: { GOPROXY: SECRET_VALUE } },
  };
  const urn = "urn:pulumi:s::p::cybernode-images:index:BuildImage::btcd-build";
  const r = await plugin.create(urn, wrapped);
  t.deepEqual(seen?.buildEnv, { GOPROXY: SECRET_VALUE });
  t.false(JSON.stringify(r).includes("s3cret"));
});

test("through the plugin, every call of the three image resources takes a secret buildEnv: diffs see the value, no output or failure holds it", async (t) => {
  const wrap = (v: unknown) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: v });
  const secretEnv = wrap({ GOPROXY: SECRET_VALUE });
  const { p } = fakeWorld({ images: { ...TAG_PRESENT, [`|${RUN_ID}`]: RUN_ID } });
  const plugin = pluginProvider(
    {
      "cybernode-images:index:BuildImage": p.buildImage,
      "cybernode-images:index:Binaries": p.binaries,
      "cybernode-images:index:RunImage": p.runImage,
    },
    "1",
  );
  const urn = (type: string) => `urn:pulumi:s::p::cybernode-images:index:${type}::btcd`;
  const said: unknown[] = [];
  for (const [type, inputs, state] of [
    ["BuildImage", buildIn, builtState()],
    ["Binaries", binIn, { ...stored(binIn), version: "1.0", files: [], digest: "d" }],
    ["RunImage", runIn, runState()],
  ] as const) {
    const news = { ...inputs, buildEnv: secretEnv };
    const checked = await plugin.check(urn(type), {}, news);
    t.deepEqual(checked.inputs, news, `${type}: check hands the inputs back still wrapped (encrypted in state)`);
    const same = await plugin.diff("id", urn(type), state, news);
    const other = await plugin.diff("id", urn(type), state, { ...news, buildEnv: wrap({ GOPROXY: "https://other" }) });
    t.true(other.changes, `${type}: another secret value is a change`);
    const created = await plugin.create(urn(type), news);
    const updated = await plugin.update("id", urn(type), state, news);
    said.push(checked.failures, same, other, created, updated);
  }
  const read = await plugin.read("id", urn("RunImage"), { ...runState(), buildEnv: secretEnv });
  said.push(read.props?.imageId);
  t.false(JSON.stringify(said).includes("s3cret"), "no failure, diff, output or read carries the value");
});
