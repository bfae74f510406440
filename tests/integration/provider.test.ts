import test from "ava";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { binariesProvider, buildImageProvider, PROVIDER_VERSION, runImageProvider } from "../../src/provider/imageResources";
import { dataDirProvider } from "../../src/provider/dataDirOps";
import { docker } from "../../src/docker/cli";
import { dockerTest } from "../helpers/dockerTest";
import { containerEvents, requireDocker, TEST_BASE_IMAGES, testBaseMap } from "../helpers/docker";
import { runProviderProcess } from "../helpers/providerHost";
import { loadSpec } from "../../src/imageSpec/load";
import { extractionHash } from "../../src/builder/stepKeys";

// biome-ignore lint/suspicious/noExplicitAny: JSON from the provider process, read field by field
type ProviderJson = Record<string, any>;

const PROJECT = join(__dirname, "../..");

test.before(async () => {
  if (process.env.CYBERNODE_SKIP_DOCKER !== "1") await requireDocker();
});

const common = {
  image: "fullnode/fixnode",
  projectDir: PROJECT,
  imagesRoot: join(PROJECT, "tests/fixtures/images"),
  baseImages: Object.fromEntries(testBaseMap()),
  buildHost: "",
  providerVersion: PROVIDER_VERSION,
};

// The three phases chained as Pulumi chains them (outputs of one are inputs of the next), then
// everything again with unchanged inputs, run in a fresh node process as the provider plugin runs them.
const EXTRACTION = extractionHash(loadSpec(common.imagesRoot, common.image).spec);
const SCRIPT = `
  const EXTRACTION = ${JSON.stringify(EXTRACTION)};
  const { build, bin, run } = provider;
  const out = { checks: [] };
  const buildIn = { ...input, buildHash: "b1" };
  out.checks.push(await build.check({}, buildIn));
  const b = await build.create(buildIn);
  const binIn = { ...input, buildKey: b.outs.buildKey, extraction: EXTRACTION };
  const x = await bin.create(binIn);
  const runIn = { ...input, runHash: "r1", binariesDigest: x.outs.digest, targetHost: "" };
  const r = await run.create(runIn);
  out.first = { build: b.outs, bin: x.outs, run: r.outs };
  let t0 = process.hrtime.bigint();
  out.noChange = [await build.diff(b.id, b.outs, buildIn), await bin.diff(x.id, x.outs, binIn), await run.diff(r.id, r.outs, runIn)];
  out.diffMs = Number(process.hrtime.bigint() - t0) / 1e6 / 3;
  out.changed = {
    build: await build.diff(b.id, b.outs, { ...buildIn, buildHash: "b2" }),
    bin: await bin.diff(x.id, x.outs, { ...binIn, buildKey: "other" }),
    run: await run.diff(r.id, r.outs, { ...runIn, binariesDigest: "other" }),
    provider: await run.diff(r.id, r.outs, { ...runIn, providerVersion: "0" }),
  };
  out.since = Date.now() / 1000;
  t0 = Date.now();
  const b2 = await build.create(buildIn);
  const x2 = await bin.create({ ...binIn, buildKey: b2.outs.buildKey });
  const r2 = await run.update(r.id, r.outs, { ...runIn, binariesDigest: x2.outs.digest });
  out.secondMs = Date.now() - t0;
  out.until = Date.now() / 1000;
  out.second = { build: b2.outs, bin: x2.outs, run: r2.outs };
  await run.delete(r.id, r.outs); await bin.delete(x.id, x.outs); await build.delete(b.id, b.outs);
  return out;`;

dockerTest(
  "image resource types in their own process, as the plugin runs them: check, create, diff, update, delete against dockerd",
  async (t) => {
    const r = (await runProviderProcess(
      { build: buildImageProvider, bin: binariesProvider, run: runImageProvider },
      SCRIPT,
      common,
    )) as ProviderJson;
    t.deepEqual(r.checks[0].failures, []);
    const imageId = r.first.run.imageId as string;
    t.regex(imageId, /^sha256:[0-9a-f]{64}$/);
    t.is(r.first.bin.version, "1.0.0");
    t.deepEqual(
      r.first.bin.files.map((f: { path: string }) => f.path),
      ["fixnode"],
    );
    t.is(await docker(["image", "inspect", "--format", "{{.Id}}", imageId]), imageId);
    for (const d of r.noChange) t.false(d.changes, "unchanged inputs: no changes");
    for (const k of ["build", "bin", "run", "provider"]) {
      t.true(r.changed[k].changes, `${k} change shows as a diff`);
      t.deepEqual(r.changed[k].replaces, [], "images update in place, never replace");
    }
    t.is(r.second.build.stepsRun, 0);
    t.is(r.second.bin.digest, r.first.bin.digest);
    t.is(r.second.run.imageId, imageId, "unchanged inputs: the same image");
    t.is(r.second.run.shippedBytes, 0);
    t.is(await containerEvents("start", r.since, r.until), 0, "an unchanged pass starts no container");
    t.is(await docker(["image", "inspect", "--format", "{{.Id}}", imageId]), imageId, "delete keeps the image");
    t.log(`no-op diff ${r.diffMs.toFixed(2)} ms per resource; unchanged build+bin+run pass ${r.secondMs} ms`);
  },
);

dockerTest("a no-op BuildImage diff answers from the plan it stored, without loading the spec; a moved base tag still shows", async (t) => {
  const tag = "cybernode-test/golang-stored-plan:1";
  const golang = testBaseMap().get("golang:1.26-bookworm") as string;
  await docker(["tag", golang, tag]);
  try {
    const input = { ...common, baseImages: { ...common.baseImages, "golang:1.26-bookworm": tag }, buildHash: "b1" };
    const built = (await runProviderProcess(buildImageProvider, "return (await provider.create(input)).outs;", input)) as ProviderJson;
    t.is(built.baseRef, tag);
    t.deepEqual(built.passEnvNames, []);
    t.regex(built.planHash, /^[0-9a-f]{64}$/);
    // A fresh process, as the next preview's plugin: the diff must not need the spec (nor tsx for it).
    const DIFF = `
      const d = await provider.diff("id", input.olds, input.news);
      return { d, specLoaded: Object.keys(require.cache).some((k) => k.endsWith("/fullnode/fixnode.ts")) };`;
    const same = (await runProviderProcess(buildImageProvider, DIFF, { olds: built, news: input })) as ProviderJson;
    t.false(same.d.changes, "unchanged: no changes");
    t.false(same.specLoaded, "answered from the stored plan");
    const debian = testBaseMap().get("debian:bookworm") as string;
    await docker(["tag", debian, tag]); // what `docker pull` of a newer base does to the tag
    const moved = (await runProviderProcess(buildImageProvider, DIFF, { olds: built, news: input })) as ProviderJson;
    t.true(moved.d.changes, "a base with another ID changes the build");
    t.false(moved.specLoaded);
    const older = { ...built, baseRef: undefined, planHash: undefined, passEnvNames: undefined };
    const fromOldState = (await runProviderProcess(buildImageProvider, DIFF, { olds: older, news: input })) as ProviderJson;
    t.true(fromOldState.d.changes, "state written before these fields: the full plan, which sees the new base too");
    t.true(fromOldState.specLoaded);
  } finally {
    await docker(["rmi", tag]);
  }
});

const BUSYBOX = TEST_BASE_IMAGES.split(",")
  .find((p) => p.startsWith("busybox:"))!
  .split("=")[1];

dockerTest("DataDir in its own process: the engine makes the folder owned by the uid, delete leaves it", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "cybernode-datadir-"));
  const path = join(root, "it's btcd");
  const r = await runProviderProcess(
    dataDirProvider,
    `
    const c = await provider.create(input);
    const d = await provider.diff(c.id, c.outs, input);
    const moved = await provider.diff(c.id, c.outs, { ...input, path: input.path + "2" });
    require("fs").writeFileSync(input.path + "/chain.dat", "blocks");
    await provider.delete(c.id, c.outs);
    let tcp = null;
    try { await provider.create({ ...input, host: "tcp://node1.invalid:2376" }); } catch (e) { tcp = String(e.message); }
    return { d, moved, tcp };`,
    // Any image the host has: the engine's short-lived container of it is never started.
    { path, uid: 1000, selinux: false, host: "unix:///var/run/docker.sock", image: BUSYBOX },
  );
  t.true(existsSync(join(path, "chain.dat")), "data survives delete");
  t.is(statSync(path).uid, 1000);
  t.false((r.d as { changes: boolean }).changes);
  t.deepEqual((r.moved as { replaces: string[] }).replaces, ["path"]);
  t.regex(
    String(r.tcp),
    /data folder .* on tcp:\/\/node1\.invalid:2376 for uid 1000: .*Make it on the host/s,
    "an engine that does not answer is named",
  );
  rmSync(root, { recursive: true, force: true });
});
