import test from "ava";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { buildImage } from "../../src/builder/builder";
import { shipRunImage } from "../../src/publish/dockerHost";
import { loadSpec } from "../../src/imageSpec/load";
import { planRunImage } from "../../src/archive/imageArchive";
import { runImageFiles, sourceDateEpoch } from "../../src/builder/assemble";
import { dockerTest } from "../helpers/dockerTest";
import { requireDocker, testBaseMap } from "../helpers/docker";
import { startSecondDaemon, type SecondDaemon } from "../helpers/secondDaemon";
import { runProviderProcess } from "../helpers/providerHost";
import { binariesProvider, buildImageProvider, PROVIDER_VERSION, runImageProvider } from "../../src/provider/imageResources";

const ROOT = join(__dirname, "../fixtures/images");
let other: SecondDaemon | undefined;

test.before(async () => {
  if (process.env.CYBERNODE_SKIP_DOCKER === "1") return;
  await requireDocker();
  other = await startSecondDaemon();
});
test.after.always(async () => other?.stop());

const at = (host: string, args: string[]) => spawnSync("docker", args, { env: { ...process.env, DOCKER_HOST: host }, encoding: "utf8" });

dockerTest("a run image built here is loaded onto another engine with the same ID, once", async (t) => {
  const loaded = loadSpec(ROOT, "fullnode/fixnode");
  const built = await buildImage(loaded, { baseMap: testBaseMap(), log: () => {} });
  const plan = planRunImage({
    spec: loaded.spec,
    version: built.version,
    files: runImageFiles(built.binDir, built.manifest),
    epochSeconds: sourceDateEpoch(),
    architecture: "amd64",
  });
  t.is(plan.imageId, built.imageId);
  const first = await shipRunImage(plan, other!.host);
  t.true(first.transferred);
  t.is(first.bytes, plan.archive.length);
  t.log(`first deploy sent ${first.bytes} bytes for a ${built.manifest.files.reduce((n, f) => n + f.size, 0)}-byte binary`);
  t.is(at(other!.host, ["image", "inspect", "--format", "{{.Id}}", "cybernode/fullnode-fixnode:latest"]).stdout.trim(), built.imageId);
  const again = await shipRunImage(plan, other!.host);
  t.false(again.transferred, "the host already has the image: nothing is sent");
  t.is(again.bytes, 0);
  // It runs there (no network on that engine, so just --version).
  t.is(at(other!.host, ["run", "--rm", built.imageId, "--version"]).stdout.trim(), "fixnode 1.0.0");
});

dockerTest("an engine that does not answer is a clear error naming the host", async (t) => {
  const loaded = loadSpec(ROOT, "fullnode/fixnode");
  const built = await buildImage(loaded, { baseMap: testBaseMap(), log: () => {} });
  const plan = planRunImage({
    spec: loaded.spec,
    version: built.version,
    files: runImageFiles(built.binDir, built.manifest),
    epochSeconds: sourceDateEpoch(),
    architecture: "amd64",
  });
  const err = await t.throwsAsync(shipRunImage(plan, "unix:///tmp/cybernode-no-engine.sock"));
  t.regex(err!.message, /Docker host unix:\/\/\/tmp\/cybernode-no-engine\.sock did not answer/);
  t.regex(err!.message, /check that dockerd runs there/);
});

dockerTest("the Pulumi image resources deploy onto a stack host that is another engine", async (t) => {
  const common = {
    image: "fullnode/fixnode",
    projectDir: join(__dirname, "../.."),
    imagesRoot: ROOT,
    baseImages: Object.fromEntries(testBaseMap()),
    buildHost: "",
    providerVersion: PROVIDER_VERSION,
  };
  const ids = at(other!.host, ["image", "ls", "-q"]).stdout.split("\n").filter(Boolean);
  if (ids.length) at(other!.host, ["rmi", "-f", ...ids]);
  const r = (await runProviderProcess(
    { build: buildImageProvider, bin: binariesProvider, run: runImageProvider },
    `
    const b = await provider.build.create({ ...input.common, buildHash: "h" });
    const x = await provider.bin.create({ ...input.common, buildKey: b.outs.buildKey });
    const runIn = { ...input.common, runHash: "r", binariesDigest: x.outs.digest, targetHost: input.target };
    const r1 = await provider.run.create(runIn);
    const r2 = await provider.run.update(r1.id, r1.outs, runIn);
    return { first: r1.outs, second: r2.outs };`,
    { common, target: other!.host },
  )) as Record<string, { imageId: string; shippedBytes: number }>;
  t.true(r.first.shippedBytes > 0);
  t.is(r.second.shippedBytes, 0, "unchanged: no transfer");
  t.is(at(other!.host, ["image", "inspect", "--format", "{{.Id}}", r.first.imageId]).stdout.trim(), r.first.imageId);
});

dockerTest("promotion: a rebuilt image that differs from the promoted ID is refused and nothing reaches the host", async (t) => {
  const ids = at(other!.host, ["image", "ls", "-q"]).stdout.split("\n").filter(Boolean);
  if (ids.length) at(other!.host, ["rmi", "-f", ...ids]);
  const common = {
    image: "fullnode/fixnode",
    projectDir: join(__dirname, "../.."),
    imagesRoot: ROOT,
    baseImages: Object.fromEntries(testBaseMap()),
    buildHost: "",
    providerVersion: PROVIDER_VERSION,
  };
  const tampered = `sha256:${"e".repeat(64)}`;
  const script = `
    const b = await provider.build.create({ ...input.common, buildHash: "h" });
    const x = await provider.bin.create({ ...input.common, buildKey: b.outs.buildKey });
    const runIn = { ...input.common, runHash: "r", binariesDigest: x.outs.digest, targetHost: input.target, promotedFrom: "staging" };
    let refused = null;
    const t0 = Date.now();
    try { await provider.run.create({ ...runIn, promotedImageId: input.tampered }); } catch (e) { refused = String(e.message); }
    const checkMs = Date.now() - t0;
    const afterRefused = require("child_process").spawnSync("docker", ["image", "ls", "-q"], { env: { ...process.env, DOCKER_HOST: input.target }, encoding: "utf8" }).stdout.trim();
    const ok = await provider.run.create({ ...runIn, promotedImageId: input.good });
    return { refused, afterRefused, checkMs, ok: ok.outs };`;
  const good = (await buildImage(loadSpec(ROOT, "fullnode/fixnode"), { baseMap: testBaseMap(), log: () => {} })).imageId;
  const r = (await runProviderProcess({ build: buildImageProvider, bin: binariesProvider, run: runImageProvider }, script, {
    common,
    target: other!.host,
    tampered,
    good,
  })) as { refused: string; afterRefused: string; checkMs: number; ok: { imageId: string } };
  t.log(`promotion check (rebuild from cache, predict, compare): ${r.checkMs} ms`);
  t.regex(
    r.refused,
    /image fullnode\/fixnode: refusing to deploy\. The run image rebuilt here is sha256:[0-9a-f]{64}, but stack staging ran sha256:e{64}/,
  );
  t.regex(r.refused, /Nothing was loaded or changed/);
  t.is(r.afterRefused, "", "nothing reached the production engine");
  t.is(r.ok.imageId, good, "the promoted ID, reproduced, deploys");
  t.is(at(other!.host, ["image", "inspect", tampered]).status, 1);
});
