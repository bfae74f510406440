import test from "ava";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { buildImage } from "../../src/builder/builder";
import { loadSpec } from "../../src/imageSpec/load";
import { binariesProvider, buildImageProvider, PROVIDER_VERSION, runImageProvider } from "../../src/provider/imageResources";
import { dockerTest } from "../helpers/dockerTest";
import { requireDocker, testBaseMap } from "../helpers/docker";
import { runProviderProcess } from "../helpers/providerHost";
import { startRegistry, type LocalRegistry } from "../helpers/registry";
import { startSecondDaemon, type SecondDaemon } from "../helpers/secondDaemon";

const PROJECT = join(__dirname, "../..");
const ROOT = join(PROJECT, "tests/fixtures/images");
let registry: LocalRegistry | undefined;
let fresh: SecondDaemon | undefined;

test.before(async () => {
  if (process.env.CYBERNODE_SKIP_DOCKER === "1") return;
  await requireDocker();
  registry = await startRegistry();
  fresh = await startSecondDaemon();
});
test.after.always(async () => {
  await fresh?.stop();
  await registry?.stop();
});

dockerTest("with a registry: the run image is pushed, and a fresh engine pulls it by digest with the same image ID", async (t) => {
  const local = await buildImage(loadSpec(ROOT, "fullnode/fixnode"), { baseMap: testBaseMap(), log: () => {} });
  const common = {
    image: "fullnode/fixnode",
    projectDir: PROJECT,
    imagesRoot: ROOT,
    baseImages: Object.fromEntries(testBaseMap()),
    buildHost: "",
    providerVersion: PROVIDER_VERSION,
  };
  const r = (await runProviderProcess(
    { build: buildImageProvider, bin: binariesProvider, run: runImageProvider },
    `
    const b = await provider.build.create({ ...input.common, buildHash: "h" });
    const x = await provider.bin.create({ ...input.common, buildKey: b.outs.buildKey });
    const runIn = { ...input.common, runHash: "r", binariesDigest: x.outs.digest, targetHost: input.target, promotedImageId: "", promotedFrom: "", registry: input.registry };
    const first = await provider.run.create(runIn);
    const second = await provider.run.update(first.id, first.outs, runIn);
    return { first: first.outs, second: second.outs };`,
    { common, target: fresh!.host, registry: `${registry!.address}/cybernode` },
  )) as Record<string, { pullRef: string; shippedBytes: number; imageId: string }>;
  t.regex(
    r.first.pullRef,
    new RegExp(`^${registry!.address.replace(/\./g, "\\.")}/cybernode/cybernode/fullnode-fixnode@sha256:[0-9a-f]{64}$`),
  );
  t.is(r.first.shippedBytes, 0, "nothing is loaded directly when a registry is used");
  t.is(r.second.pullRef, r.first.pullRef, "pushing the same image again gives the same digest");
  const pull = spawnSync("docker", ["pull", "-q", r.first.pullRef], {
    env: { ...process.env, DOCKER_HOST: fresh!.host },
    encoding: "utf8",
  });
  t.is(pull.status, 0, pull.stderr);
  const id = spawnSync("docker", ["image", "inspect", "--format", "{{.Id}}", r.first.pullRef], {
    env: { ...process.env, DOCKER_HOST: fresh!.host },
    encoding: "utf8",
  }).stdout.trim();
  t.is(id, local.imageId, "pulled by digest: the same image ID as built and tested");
  const v = spawnSync("docker", ["run", "--rm", "--network", "none", r.first.pullRef, "--version"], {
    env: { ...process.env, DOCKER_HOST: fresh!.host },
    encoding: "utf8",
  });
  t.is(v.stdout.trim(), "fixnode 1.0.0");
});
