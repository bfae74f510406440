import test from "ava";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage } from "../../src/builder/builder";
import { loadSpec } from "../../src/imageSpec/load";
import { binariesProvider, buildImageProvider, PROVIDER_VERSION, runImageProvider } from "../../src/provider/imageResources";
import { dataDirProvider } from "../../src/provider/dataDirOps";
import { dockerTest } from "../helpers/dockerTest";
import { requireDocker, testBaseMap } from "../helpers/docker";
import { runProviderProcess } from "../helpers/providerHost";
import { startSshHost, type SshHost } from "../helpers/sshHost";
import { runCli } from "../helpers/cli";

// biome-ignore lint/suspicious/noExplicitAny: JSON from the provider process, read field by field
type ProviderJson = Record<string, any>;

const PROJECT = join(__dirname, "../..");
const ROOT = join(PROJECT, "tests/fixtures/images");
let remote: SshHost | undefined;

test.before(async () => {
  if (process.env.CYBERNODE_SKIP_DOCKER === "1") return;
  await requireDocker();
  remote = await startSshHost();
});
test.after.always(async () => remote?.stop());

const onRemote = (args: string[]) =>
  spawnSync("docker", args, { env: { ...remote!.env, DOCKER_HOST: remote!.host }, encoding: "utf8", timeout: 120_000 });
const common = () => ({
  image: "fullnode/fixnode",
  projectDir: PROJECT,
  imagesRoot: ROOT,
  baseImages: Object.fromEntries(testBaseMap()),
  buildHost: "",
  providerVersion: PROVIDER_VERSION,
});

// Build here, load onto the ssh host, make the data folder there, and run the node as the stack would.
const DEPLOY = `
  const out = {};
  let t0 = Date.now();
  const b = await provider.build.create({ ...input.common, buildHash: "h" });
  const x = await provider.bin.create({ ...input.common, buildKey: b.outs.buildKey });
  const runIn = { ...input.common, runHash: "r", binariesDigest: x.outs.digest, targetHost: input.host };
  const r = await provider.run.create(runIn);
  const d = await provider.dir.create({ path: input.dataDir, uid: 1000, selinux: false, host: input.host, image: r.outs.imageId });
  out.firstMs = Date.now() - t0;
  out.first = r.outs;
  t0 = Date.now();
  const b2 = await provider.build.update(b.id, b.outs, { ...input.common, buildHash: "h" });
  const x2 = await provider.bin.update(x.id, x.outs, { ...input.common, buildKey: b2.outs.buildKey });
  const r2 = await provider.run.update(r.id, r.outs, { ...runIn, binariesDigest: x2.outs.digest });
  await provider.dir.update(d.id, d.outs, { path: input.dataDir, uid: 1000, selinux: false, host: input.host, image: r2.outs.imageId });
  out.unchangedMs = Date.now() - t0;
  out.second = r2.outs;
  return out;`;

dockerTest("deploys onto a host reached over ssh://: same image ID as the local build, data folder made there, node runs", async (t) => {
  const local = await buildImage(loadSpec(ROOT, "fullnode/fixnode"), { baseMap: testBaseMap(), log: () => {} });
  const dataRoot = mkdtempSync(join(tmpdir(), "cybernode-remote-data-"));
  const dataDir = join(dataRoot, "fixnode");
  try {
    const r = (await runProviderProcess(
      { build: buildImageProvider, bin: binariesProvider, run: runImageProvider, dir: dataDirProvider },
      DEPLOY,
      { common: common(), host: remote!.host, dataDir },
      { PATH: remote!.env.PATH },
    )) as ProviderJson;
    t.is(r.first.imageId, local.imageId, "the image on the remote host is the one built and tested here");
    t.true(r.first.shippedBytes > 0);
    t.is(r.second.shippedBytes, 0, "unchanged stack: no image transfer");
    t.is(onRemote(["image", "inspect", "--format", "{{.Id}}", "cybernode/fullnode-fixnode:latest"]).stdout.trim(), local.imageId);
    t.true(existsSync(dataDir));
    t.is(statSync(dataDir).uid, 1000, "data folder made by the remote engine, owned by the node uid");
    const run = onRemote([
      "run",
      "-d",
      "--name",
      "cybernode-remote-fixnode",
      "--network",
      "none",
      "-u",
      "1000:1000",
      "--read-only",
      "--cap-drop",
      "ALL",
      "-v",
      `${dataDir}:/cyberdata`,
      local.imageId,
    ]);
    t.is(run.status, 0, run.stderr);
    await new Promise((res) => setTimeout(res, 1500));
    t.is(
      onRemote(["inspect", "--format", "{{.State.Running}} {{.Image}}", "cybernode-remote-fixnode"]).stdout.trim(),
      `true ${local.imageId}`,
    );
    t.true(existsSync(join(dataDir, "fixnode.marker")), "the node wrote its data on the remote host");
    t.log(`first deploy ${r.first.shippedBytes} bytes in ${r.firstMs} ms; unchanged deploy ${r.unchangedMs} ms, 0 bytes`);
  } finally {
    onRemote(["rm", "-f", "-v", "cybernode-remote-fixnode"]);
    rmSync(dataRoot, { recursive: true, force: true });
  }
});

dockerTest("an unreachable host fails within a bounded time, naming the host and what to check", async (t) => {
  const started = Date.now();
  const err = await t.throwsAsync(
    runProviderProcess(
      { run: runImageProvider },
      `return provider.run.create({ ...input, runHash: "r", binariesDigest: "d", targetHost: "ssh://root@127.0.0.1:1" });`,
      common(),
      { PATH: remote!.env.PATH },
    ),
  );
  const seconds = (Date.now() - started) / 1000;
  t.regex(err!.message, /Docker host ssh:\/\/root@127\.0\.0\.1:1 did not answer/);
  t.regex(err!.message, /ssh key/);
  t.true(seconds < 90, `took ${seconds}s`);
  t.log(`unreachable host reported after ${seconds.toFixed(1)} s`);
});

dockerTest("an ssh key the host does not accept is a clear error", async (t) => {
  const err = await t.throwsAsync(
    runProviderProcess(
      { run: runImageProvider },
      `return provider.run.create({ ...input, runHash: "r", binariesDigest: "d", targetHost: "${remote!.badKeyHost}" });`,
      common(),
      { PATH: remote!.env.PATH },
    ),
  );
  t.regex(err!.message, /Docker host ssh:\/\/root@cybernode-badkey did not answer/);
  t.regex(err!.message, /Permission denied|exit status 255/);
  t.regex(err!.message, /ssh key/);
});

dockerTest("inspect works against the ssh host (the CLI honours DOCKER_HOST=ssh://…)", async (t) => {
  const local = await buildImage(loadSpec(ROOT, "fullnode/fixnode"), { baseMap: testBaseMap(), log: () => {} });
  const load = spawnSync("sh", ["-c", `docker save ${local.imageId} | DOCKER_HOST=${remote!.host} docker load -q`], {
    env: remote!.env,
    encoding: "utf8",
  });
  t.is(load.status, 0, load.stderr);
  const r = await runCli(["inspect", local.imageId], { ...remote!.env, DOCKER_HOST: remote!.host });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^version\s+1\.0\.0$/m);
  t.regex(r.stdout, /cyberapp\/fixnode/);
});
