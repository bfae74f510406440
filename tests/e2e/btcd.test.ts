import test from "ava";
import { processUid, walk } from "../helpers/host";
import { chownSync, existsSync, lstatSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage, type BuildResult } from "../../src/builder/builder";
import { docker, dockerMaybe } from "../../src/docker/cli";
import { loadSpec } from "../../src/imageSpec/load";
import { inspectField, runCli } from "../helpers/cli";
import { SKIP_DOCKER, requireDocker, testBaseMap } from "../helpers/docker";
import { temporariesOf } from "../helpers/faults";
import { dockerTest } from "../helpers/dockerTest";

// The real spec in images/ (its bin/ is git-ignored), built through the whole pipeline.
const IMAGES = join(__dirname, "../../images");
const RUN_ID = Math.random().toString(36).slice(2, 8);
const NODE = `cybernode-e2e-btcd-${RUN_ID}`;
const RPC = ["--simnet", "--rpcuser=u", "--rpcpass=p", "--rpcserver=127.0.0.1:18556", "--notls"];
let built: BuildResult;
let data = "";

test.before(async () => {
  if (SKIP_DOCKER) return;
  await requireDocker();
  data = mkdtempSync(join(tmpdir(), "cybernode-e2e-btcd-"));
  chownSync(data, 1000, 1000);
});

test.after.always(async () => {
  if (SKIP_DOCKER) return;
  await dockerMaybe(["rm", "-f", "-v", NODE]);
  if (data) rmSync(data, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** btcctl from a second container in the node's network namespace (btcd's RPC is on its loopback). */
async function btcctl(...args: string[]): Promise<string> {
  return docker(["run", "--rm", "--network", `container:${NODE}`, "--entrypoint", "/cyberapp/btcctl", built.imageId, ...RPC, ...args]);
}

/** Polls btcctl until it answers (at most ~60 s). */
async function waitForBtcctl(...args: string[]): Promise<string> {
  let last: unknown;
  for (let i = 0; i < 120; i++) {
    try {
      return await btcctl(...args);
    } catch (e) {
      last = e;
      await sleep(500);
    }
  }
  throw new Error(`btcctl ${args.join(" ")} did not answer: ${String(last)}\n${await dockerMaybe(["logs", "--tail", "20", NODE])}`);
}

dockerTest("btcd builds from images/fullnode/btcd.ts through the pipeline", async (t) => {
  const loaded = loadSpec(IMAGES, "fullnode/btcd");
  built = await buildImage(loaded, { baseMap: testBaseMap(), log: () => {} });
  t.log(`build: ${built.stepsRun} of ${built.stepsTotal} steps run, ${built.seconds.toFixed(1)} s`);
  t.regex(built.version, /^btcd v0\.26\.2 h1:/);
  t.deepEqual(built.manifest.artifacts, ["btcd", "btcctl"]);
  t.deepEqual(built.manifest.libs, [], "btcd is built with CGO off: nothing to bundle");
  t.is(await docker(["image", "inspect", "--format", "{{.Id}}", "cybernode/fullnode-btcd:latest"]), built.imageId);
  t.deepEqual(await temporariesOf(process.pid), []);
});

dockerTest("btcd --version runs in the scratch run image as uid 1000", async (t) => {
  t.is(await docker(["image", "inspect", "--format", "{{.Config.User}}", built.imageId]), "1000:1000");
  t.regex(await docker(["run", "--rm", built.imageId, "--version"]), /^btcd version 0\.26\.2/);
});

dockerTest("btcd runs on simnet with a bind-mounted /cyberdata; btcctl gets the block count over RPC", async (t) => {
  await docker([
    "run",
    "-d",
    "--name",
    NODE,
    "-v",
    `${data}:/cyberdata`,
    built.imageId,
    "--simnet",
    "--nodnsseed",
    "--rpcuser=u",
    "--rpcpass=p",
    "--rpclisten=127.0.0.1:18556",
    "--notls",
  ]);
  t.is(await waitForBtcctl("getblockcount"), "0");
  t.is(await processUid(NODE), 1000);
  t.true(existsSync(join(data, "simnet", "blocks_ffldb")), readdirSync(data).join(" "));
  const files = walk(data);
  t.true(files.length > 0);
  for (const f of files) t.is(lstatSync(f).uid, 1000, f);
});

dockerTest("after docker restart the chain data is still there and RPC answers again", async (t) => {
  const before = readdirSync(join(data, "simnet", "blocks_ffldb")).sort();
  await docker(["restart", NODE]);
  t.is(await docker(["inspect", "--format", "{{.State.Running}}", NODE]), "true");
  t.is(await waitForBtcctl("getblockcount"), "0");
  t.true(existsSync(join(data, "simnet", "blocks_ffldb")));
  // What the first start wrote is still there.
  const after = readdirSync(join(data, "simnet", "blocks_ffldb"));
  for (const f of before) t.true(after.includes(f), f);
  t.regex(await btcctl("getbestblockhash"), /^[0-9a-f]{64}$/);
});

dockerTest("the version label and entrypoint, in docker inspect and in cybernode inspect", async (t) => {
  const labels = JSON.parse(await docker(["inspect", "--format", "{{json .Config.Labels}}", NODE])) as Record<string, string>;
  t.true(labels.version.startsWith("btcd v0.26.2"), labels.version);
  const entrypoint = ["/cyberapp/btcd", "--datadir=/cyberdata", "--logdir=/cyberdata"];
  t.deepEqual(JSON.parse(await docker(["image", "inspect", "--format", "{{json .Config.Entrypoint}}", built.imageId])), entrypoint);
  const cli = await runCli(["inspect", "fullnode/btcd", "--images", IMAGES]);
  t.is(cli.code, 0, cli.stderr);
  const line = (key: string) => inspectField(cli.stdout, key);
  t.true(line("version")?.startsWith("btcd v0.26.2"), cli.stdout);
  t.deepEqual(JSON.parse(line("entrypoint") ?? "null"), entrypoint);
  t.is(line("user"), "1000:1000");
  t.is(line("shell"), "none");
});
