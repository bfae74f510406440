import test from "ava";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dump } from "js-yaml";
import { buildImage } from "../../src/builder/builder";
import { docker, dockerMaybe } from "../../src/docker/cli";
import { dataDirScript } from "../../src/common/dataDir";
import { loadSpec, type LoadedSpec } from "../../src/imageSpec/load";
import { requireDocker, SKIP_DOCKER, testBaseMap } from "../helpers/docker";
import { dockerTest } from "../helpers/dockerTest";
import { nodeRunArgs } from "../helpers/nodeRun";
import { poll } from "../helpers/faults";

// The catalogue's three daemons run as the program runs them: data folders made by the DataDir script
// (btcd's rpc.conf with its random password), the spec's container args plus a local chain, the run
// image's own health check (interval shortened per node, as a stack may), the spec's stop timeout.
// Then `npx cybernode status` reads a stack file naming them, and btcd is stopped with and without
// its grace period.

const PROJECT = join(__dirname, "../..");
const IMAGES = join(PROJECT, "images");
const RUN_ID = Math.random().toString(36).slice(2, 8);
const root = mkdtempSync(join(tmpdir(), "cybernode-e2e-operate-"));
const dataRoot = join(root, "data");
const stacksDir = join(root, "stacks");

interface Node {
  image: string;
  /** Container (and node) name. */
  name: string;
  /** A local chain without peers (after the spec's container args). */
  args: string[];
  /** Height of a fresh chain. */
  fresh: number;
  loaded?: LoadedSpec;
  imageId?: string;
}

const NODES: Node[] = [
  { image: "fullnode/btcd", name: `e2e-btcd-${RUN_ID}`, args: ["--simnet", "--nodnsseed"], fresh: 0 },
  {
    image: "fullnode/litecoind",
    name: `e2e-litecoind-${RUN_ID}`,
    args: ["-regtest", "-connect=0", "-dnsseed=0", "-listen=0", "-upnp=0"],
    fresh: 0,
  },
  { image: "fullnode/monerod", name: `e2e-monerod-${RUN_ID}`, args: ["--regtest", "--offline", "--fixed-difficulty", "1"], fresh: 1 },
];

test.before(async () => {
  if (SKIP_DOCKER) return;
  await requireDocker();
});

test.after.always(async () => {
  if (SKIP_DOCKER) return;
  for (const n of NODES) await dockerMaybe(["rm", "-f", "-v", n.name]);
  rmSync(root, { recursive: true, force: true });
});

async function start(n: Node): Promise<void> {
  const spec = n.loaded?.spec;
  if (!spec || !n.imageId) throw new Error(`${n.image} was not built`);
  await docker(
    nodeRunArgs({ name: n.name, spec, imageId: n.imageId, data: join(dataRoot, n.name), options: ["--restart", "always"], args: n.args }),
  );
}

const health = (name: string) => docker(["inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{end}}", name]);

function status(): { code: number; json: Record<string, unknown>[]; stdout: string; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync("node", ["bin/cybernode.js", "status", "--stack", "e2e", "--stacks-dir", stacksDir, "--json"], {
    cwd: PROJECT,
    encoding: "utf8",
  });
  let json: Record<string, unknown>[] = [];
  try {
    json = JSON.parse(r.stdout);
  } catch {
    // reported by the asserts below
  }
  return { code: r.status ?? -1, json, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

dockerTest("btcd, litecoind and monerod run with their data folders and turn healthy with their own RPC clients", async (t) => {
  for (const n of NODES) {
    n.loaded = loadSpec(IMAGES, n.image);
    n.imageId = (await buildImage(n.loaded, { baseMap: testBaseMap(), log: () => {} })).imageId;
    const dir = join(dataRoot, n.name);
    const made = spawnSync("sh", ["-c", dataDirScript(dir, 1000, false, n.loaded.spec.container.secretFiles)], { encoding: "utf8" });
    t.is(made.status, 0, made.stderr);
    await start(n);
  }
  const conf = join(dataRoot, NODES[0].name, "rpc.conf");
  t.is(statSync(conf).mode & 0o777, 0o600, "btcd's rpc.conf is private");
  t.is(statSync(conf).uid, 1000);
  t.regex(readFileSync(conf, "utf8"), /^rpcuser=cybernode\nrpcpass=[0-9a-f]{64}\n$/);
  for (const n of NODES) {
    const t0 = Date.now();
    const h = await poll(async () => ((await health(n.name)) === "healthy" ? "healthy" : null), 180_000, 500);
    t.is(h, "healthy", `${n.name}: ${await health(n.name)}\n${await dockerMaybe(["logs", "--tail", "15", n.name])}`);
    t.log(`${n.image}: healthy ${((Date.now() - t0) / 1000).toFixed(1)} s after the first check`);
  }
});

dockerTest("cybernode status: one line per node with state, health, version, image, data size and height", async (t) => {
  mkdirSync(stacksDir, { recursive: true });
  const stack = {
    config: {
      "cybernode:host": "unix:///var/run/docker.sock",
      "cybernode:uid": "1000",
      "cybernode:dataRoot": dataRoot,
      "cybernode:nodes": Object.fromEntries(NODES.map((n) => [n.name, { image: n.image, args: n.args }])),
    },
  };
  writeFileSync(join(stacksDir, "Pulumi.e2e.yaml"), dump(stack));
  const r = status();
  t.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  t.is(r.json.length, 3);
  for (const n of NODES) {
    const row = r.json.find((x) => x.node === n.name) as Record<string, unknown> | undefined;
    t.truthy(row, n.name);
    if (!row) continue;
    t.is(row.state, "running", n.name);
    t.is(row.health, "healthy", n.name);
    t.is(row.height, n.fresh, `${n.name} height`);
    t.is(row.version, await docker(["image", "inspect", "--format", "{{.Config.Labels.version}}", n.imageId as string]));
    t.is(row.problem, null, n.name);
    t.true(Number(row.dataBytes) > 0, `${n.name} data size`);
  }
  t.log(`status of 3 nodes: ${r.ms} ms (whole CLI process)`);
  const text = spawnSync("node", ["bin/cybernode.js", "status", "--stack", "e2e", "--stacks-dir", stacksDir], {
    cwd: PROJECT,
    encoding: "utf8",
  });
  t.log(text.stdout);
});

dockerTest("btcd stopped with its grace period shuts down cleanly; killed without it, it does not; data survives both", async (t) => {
  const btcd = NODES[0];
  let t0 = Date.now();
  await docker(["stop", btcd.name]); // the container's stop timeout (the spec's stopGrace)
  const graceMs = Date.now() - t0;
  t.is(await docker(["inspect", "--format", "{{.State.ExitCode}}", btcd.name]), "0");
  t.regex(await docker(["logs", "--tail", "5", btcd.name]), /Shutdown complete/);
  // Stopped: status names the node and exits 1.
  const stopped = status();
  t.is(stopped.code, 1);
  t.truthy((stopped.json.find((x) => x.node === btcd.name) as Record<string, unknown>)?.problem);
  await docker(["start", btcd.name]);
  await poll(async () => ((await health(btcd.name)) === "healthy" ? 1 : null), 60_000, 500);
  // What @pulumi/docker does on replace/destroy without destroyGraceSeconds: remove by force (SIGKILL).
  const since = Math.floor(Date.now() / 1000);
  t0 = Date.now();
  await docker(["kill", btcd.name]);
  const killMs = Date.now() - t0;
  t.notRegex(await docker(["logs", "--since", String(since), btcd.name]), /Shutdown complete/, "killed: no clean shutdown");
  t.log(`btcd: SIGTERM to clean exit ${graceMs} ms with the grace settings; SIGKILL ${killMs} ms, no "Shutdown complete"`);
  // The data folder still serves the chain: the node comes back healthy at the same height.
  await docker(["start", btcd.name]);
  const back = await poll(async () => ((await health(btcd.name)) === "healthy" ? 1 : null), 60_000, 500);
  t.truthy(back, (await dockerMaybe(["logs", "--tail", "15", btcd.name])) ?? "no logs");
  const after = status();
  t.is(after.code, 0, after.stdout + after.stderr);
});
