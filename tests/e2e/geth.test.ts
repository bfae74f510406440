import test from "ava";
import { engineToken } from "../helpers/engineToken";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage, type BuildResult } from "../../src/builder/builder";
import { docker, dockerMaybe, runDocker } from "../../src/docker/cli";
import { dataDirScript } from "../../src/common/dataDir";
import { loadSpec, type LoadedSpec } from "../../src/imageSpec/load";
import { inspectField, runCli } from "../helpers/cli";
import { requireDocker, SKIP_DOCKER, testBaseMap } from "../helpers/docker";
import { dockerTest } from "../helpers/dockerTest";
import { nodeRunArgs } from "../helpers/nodeRun";
import { rpc } from "../helpers/rpc";
import { poll } from "../helpers/faults";
import { processUid } from "../helpers/host";

// The real spec in images/ built through the whole pipeline, then geth in --dev mode (a local chain
// that makes a block a second, no peers) run as the program runs a node: uid 1000, read-only root, no
// capabilities, the data folder made by the DataDir script, the shared Engine API secret mounted
// read-only at /cybersecrets/jwt.hex (made as the SharedSecret resource makes it), the spec's args,
// stop signal and grace, the run image's health check. The pair as a stack: tests/deploy/eth-pair.

const IMAGES = join(__dirname, "../../images");
const RUN_ID = Math.random().toString(36).slice(2, 8);
const NODE = `cybernode-e2e-geth-${RUN_ID}`;
const DEV = ["--dev", "--dev.period=1"];
let loaded: LoadedSpec;
let built: BuildResult;
let root = "";
let data = "";
let engineData = "";
let beaconData = "";
let beacon: BuildResult;
/** The stack's shared secret on the host, as `cybernode:sharedSecrets` makes it (0600, uid 1000). */
let jwtFile = "";
const withJwt = () => ["-v", `${jwtFile}:/cybersecrets/jwt.hex:ro`];
const ENGINE_NODE = `cybernode-e2e-geth-engine-${RUN_ID}`;
const BEACON_NODE = `cybernode-e2e-beacon-${RUN_ID}`;
const NET = `cybernode-e2e-geth-${RUN_ID}`;
/** A chain that starts merged (Shanghai from block 0), for the Engine API; chain id 4242. */
const GENESIS = {
  config: {
    chainId: 4242,
    ...Object.fromEntries(
      [
        "homestead",
        "eip150",
        "eip155",
        "eip158",
        "byzantium",
        "constantinople",
        "petersburg",
        "istanbul",
        "berlin",
        "london",
        "mergeNetsplit",
      ].map((f) => [`${f}Block`, 0]),
    ),
    terminalTotalDifficulty: 0,
    shanghaiTime: 0,
  },
  difficulty: "0x0",
  gasLimit: "0x1c9c380",
  alloc: {},
};

test.before(async () => {
  if (SKIP_DOCKER) return;
  await requireDocker();
  root = mkdtempSync(join(tmpdir(), "cybernode-e2e-geth-"));
  data = join(root, "geth");
  engineData = join(root, "geth-engine");
  beaconData = join(root, "beacon");
  jwtFile = join(root, "jwt.hex");
  writeFileSync(jwtFile, randomBytes(32).toString("hex"), { mode: 0o600 });
  chownSync(jwtFile, 1000, 1000);
});

test.after.always(async () => {
  if (SKIP_DOCKER) return;
  await dockerMaybe(["rm", "-f", "-v", NODE, ENGINE_NODE, BEACON_NODE]);
  await dockerMaybe(["network", "rm", NET]);
  // geth's files are owned by uid 1000 in a folder we own: removable as the test user.
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Host port Docker chose for a container port published as 127.0.0.1::port. */
async function hostPort(port: number): Promise<number> {
  const out = await docker(["port", NODE, `${port}/tcp`]);
  const m = /^127\.0\.0\.1:(\d+)$/m.exec(out);
  if (!m) throw new Error(`${port}/tcp is not published on 127.0.0.1: ${out}`);
  return Number(m[1]);
}

/** One JSON-RPC 2.0 call over HTTP on 127.0.0.1; returns `result`, or throws with geth's error. */
async function call(port: number, method: string, params: unknown[] = []): Promise<unknown> {
  const r = (await rpc(port, method, params, "2.0")) as { result?: unknown; error?: { message: string } };
  if (r.error) throw new Error(`${method}: ${r.error.message}`);
  return r.result;
}

/** stdout and stderr of `docker logs` (geth logs to stderr). */
async function logs(name: string, ...opts: string[]): Promise<string> {
  const r = await runDocker(["logs", ...opts, name]);
  return r.stdout + r.stderr;
}

/** eth_blockNumber as a number, once HTTP answers (at most ~60 s). */
async function blockNumber(): Promise<number> {
  const port = await hostPort(8545);
  const n = await poll(
    async () => {
      try {
        return Number.parseInt(String(await call(port, "eth_blockNumber")), 16);
      } catch {
        return null;
      }
    },
    60_000,
    250,
  );
  if (n === null) throw new Error(`eth_blockNumber did not answer\n${await logs(NODE, "--tail", "20")}`);
  return n;
}

const health = () => docker(["inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{end}}", NODE]);

dockerTest("geth builds from images/fullnode/geth.ts: static, CGO off, pure-Go secp256k1; a second build runs nothing", async (t) => {
  loaded = loadSpec(IMAGES, "fullnode/geth");
  built = await buildImage(loaded, { baseMap: testBaseMap(), log: () => {} });
  t.log(`build: ${built.stepsRun} of ${built.stepsTotal} steps run, ${built.seconds.toFixed(1)} s`);
  t.regex(built.version, /^geth v1\.17\.10 h1:[A-Za-z0-9+/]+=*$/);
  t.deepEqual(built.manifest.artifacts, ["geth"]);
  t.deepEqual(built.manifest.libs, [], "built with CGO off: nothing to bundle");
  t.is(await docker(["image", "inspect", "--format", "{{.Id}}", "cybernode/fullnode-geth:latest"]), built.imageId);
  // The Go build info is plain text inside the binary: which secp256k1 went in, and that cgo did not.
  const bin = readFileSync(join(built.binDir, "geth")).toString("latin1");
  t.true(bin.includes("CGO_ENABLED=0"));
  t.true(bin.includes("github.com/decred/dcrd/dcrec/secp256k1/v4"), "the pure-Go secp256k1");
  const artifactBytes = built.manifest.files.reduce((s, f) => s + f.size, 0);
  const imageBytes = Number(await docker(["image", "inspect", "--format", "{{.Size}}", built.imageId]));
  t.log(`artifacts ${artifactBytes} bytes, run image ${imageBytes} bytes`);
  const again = await buildImage(loaded, { baseMap: testBaseMap(), log: () => {} });
  t.log(`no-op build: ${again.stepsRun} steps run, ${again.seconds.toFixed(1)} s`);
  t.is(again.stepsRun, 0);
  t.is(again.imageId, built.imageId);
});

dockerTest("geth --version runs in the scratch run image as uid 1000", async (t) => {
  t.is(await docker(["image", "inspect", "--format", "{{.Config.User}}", built.imageId]), "1000:1000");
  t.regex(await docker(["run", "--rm", built.imageId, "--version"]), /^geth version 1\.17\.10-stable/);
});

dockerTest("geth --dev runs hardened with its data folder and the shared jwt.hex; JSON-RPC answers on 127.0.0.1", async (t) => {
  const spec = loaded.spec;
  t.deepEqual(spec.container.sharedSecretFiles, ["jwt.hex"], "a stack must give geth the Engine API secret");
  t.true(spec.container.args.includes("--authrpc.jwtsecret=/cybersecrets/jwt.hex"));
  const made = spawnSync("sh", ["-c", dataDirScript(data, 1000, false, spec.container.secretFiles)], { encoding: "utf8" });
  t.is(made.status, 0, made.stderr);
  await docker(
    nodeRunArgs({ name: NODE, spec, imageId: built.imageId, data, options: ["-p", "127.0.0.1::8545", ...withJwt()], args: DEV }),
  );
  t.true((await blockNumber()) >= 0);
  const http = await hostPort(8545);
  t.regex(String(await call(http, "web3_clientVersion")), /^Geth\/v1\.17\.10-stable\/linux-amd64\/go1\.26/);
  t.is(await processUid(NODE), 1000);
  t.true(existsSync(join(data, "geth", "chaindata")), readdirSync(data).join(" "));
});

dockerTest("the health check (geth attach over IPC) turns healthy and prints a bare block number", async (t) => {
  const h = await poll(async () => ((await health()) === "healthy" ? "healthy" : null), 120_000, 500);
  t.is(h, "healthy", `${await health()}\n${await logs(NODE, "--tail", "15")}`);
  const height = loaded.spec.container.status?.height ?? [];
  t.deepEqual(loaded.spec.run.health?.command, height);
  t.regex(await docker(["exec", NODE, ...height]), /^\d+$/);
  // attach with --datadir keeps its history out of $HOME (= /cyberdata).
  t.false(existsSync(join(data, ".ethereum")));
});

dockerTest("after docker restart the dev chain goes on from its height: the data survives", async (t) => {
  await poll(async () => ((await blockNumber()) >= 3 ? 1 : null), 30_000, 500);
  const before = await blockNumber();
  t.true(before >= 3, String(before));
  await docker(["restart", NODE]); // stops with the container's signal and grace, as docker stop does
  const after = await blockNumber();
  t.true(after >= before, `${after} after restart, ${before} before`);
  t.regex(await logs(NODE), /Blockchain stopped/, "the first run shut down cleanly");
  // geth opens HTTP and IPC before it starts its services and only then installs its SIGTERM handler: a
  // stop in between ends it at once (Go's default action; as PID 1 that is exit 2, no flush). Let the
  // restarted node make blocks and pass its health check before the next test stops it.
  const healthy = await poll(async () => ((await health()) === "healthy" && (await blockNumber()) >= after + 2 ? 1 : null), 60_000, 500);
  t.truthy(healthy, await logs(NODE, "--tail", "15"));
});

dockerTest("docker stop with the spec's grace: geth shuts down cleanly and exits 0", async (t) => {
  const since = Math.floor(Date.now() / 1000);
  const t0 = Date.now();
  await docker(["stop", NODE]);
  t.log(`SIGTERM to exit: ${Date.now() - t0} ms`);
  const text = await logs(NODE, "--since", String(since));
  t.is(await docker(["inspect", "--format", "{{.State.ExitCode}}", NODE]), "0", text);
  t.regex(text, /Got interrupt, shutting down/);
  t.regex(text, /Persisted dirty state to file/, "the trie journal is written");
  t.regex(text, /Blockchain stopped/);
});

dockerTest("the version label, in docker inspect and in cybernode inspect", async (t) => {
  const labels = JSON.parse(await docker(["inspect", "--format", "{{json .Config.Labels}}", NODE])) as Record<string, string>;
  t.is(labels.version, built.version);
  const cli = await runCli(["inspect", "fullnode/geth", "--images", IMAGES]);
  t.is(cli.code, 0, cli.stderr);
  const line = (key: string) => inspectField(cli.stdout, key);
  t.is(line("version"), built.version, cli.stdout);
  t.deepEqual(JSON.parse(line("entrypoint") ?? "null"), ["/cyberapp/geth", "--datadir=/cyberdata"]);
  t.is(line("user"), "1000:1000");
});

/**
 * --dev mode has no Engine API (its simulated beacon drives geth from inside), so a second node runs a
 * post-merge private chain (genesis with terminalTotalDifficulty 0, no peers, no discovery), which serves
 * 8551 as on mainnet. A container on the same Docker network plays the consensus client: busybox wget with
 * a token signed with the node's jwt.hex, by the node's container name (hence --authrpc.vhosts=*).
 */
dockerTest("the Engine API answers a second container on a Docker network with the JWT from jwt.hex, and refuses it without", async (t) => {
  const spec = loaded.spec;
  const made = spawnSync("sh", ["-c", dataDirScript(engineData, 1000, false, spec.container.secretFiles)], { encoding: "utf8" });
  t.is(made.status, 0, made.stderr);
  writeFileSync(join(engineData, "genesis.json"), JSON.stringify(GENESIS));
  const asNode = ["-u", "1000:1000", "--read-only", "--cap-drop", "ALL", "-v", `${engineData}:/cyberdata`, ...withJwt()];
  await docker(["run", "--rm", ...asNode, built.imageId, "init", "/cyberdata/genesis.json"]);
  // --internal: the containers reach each other and nothing outside (the beacon node below dials mainnet peers).
  await docker(["network", "create", "--internal", NET]);
  await docker([
    "run",
    "-d",
    "--name",
    ENGINE_NODE,
    "--network",
    NET,
    ...asNode,
    built.imageId,
    ...spec.container.args,
    "--networkid=4242",
    "--nodiscover",
    "--maxpeers=0",
  ]);
  const token = engineToken(readFileSync(jwtFile, "utf8"));
  const ask = (headers: string[]) =>
    runDocker([
      "run",
      "--rm",
      "--network",
      NET,
      "cybernode-test/busybox:local",
      "wget",
      "-q",
      "-O",
      "-",
      "--header",
      "content-type: application/json",
      ...headers,
      "--post-data",
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      `http://${ENGINE_NODE}:8551/`,
    ]);
  const ok = await poll(
    async () => {
      const r = await ask(["--header", `authorization: Bearer ${token}`]);
      return r.exitCode === 0 ? r.stdout : null;
    },
    60_000,
    500,
  );
  t.regex(ok ?? "", /"result":"0x1092"/, `chain id 4242\n${await logs(ENGINE_NODE, "--tail", "15")}`);
  const refused = await ask([]);
  t.not(refused.exitCode, 0);
  t.regex(refused.stderr, /401 Unauthorized/);
});

dockerTest("Prysm's beacon-chain builds from images/fullnode/beacon.ts: cgo, glibc bundled into scratch", async (t) => {
  beacon = await buildImage(loadSpec(IMAGES, "fullnode/beacon"), { baseMap: testBaseMap(), log: () => {} });
  t.log(`build: ${beacon.stepsRun} of ${beacon.stepsTotal} steps run, ${beacon.seconds.toFixed(1)} s`);
  t.regex(beacon.version, /^beacon-chain v7\.0\.0 h1:[A-Za-z0-9+/]+=*$/);
  t.deepEqual(beacon.manifest.artifacts, ["beacon-chain", "beacon-height"]);
  t.true(
    beacon.manifest.libs.some((l) => l.endsWith("/libc.so.6")),
    beacon.manifest.libs.join(" "),
  );
  t.regex(await docker(["run", "--rm", beacon.imageId, "--version"]), /Prysm\/v7\.0\.0\//);
  const imageBytes = Number(await docker(["image", "inspect", "--format", "{{.Size}}", beacon.imageId]));
  t.log(`files ${beacon.manifest.files.reduce((s, f) => s + f.size, 0)} bytes, run image ${imageBytes} bytes`);
});

/**
 * The pairing as a stack makes it: both nodes mount the stack's shared jwt.hex, and the beacon node
 * names geth's Engine API by container name. geth runs the private chain above (id 4242) and the beacon
 * node mainnet, so the beacon node reads chain id 4242 over the authenticated endpoint and refuses it: that
 * read needs the JWT (without it geth answers 401). On the internal network no mainnet peer is reached.
 */
dockerTest("the beacon node authenticates to geth's Engine API with the shared jwt.hex, turns healthy and stops cleanly", async (t) => {
  const spec = loadSpec(IMAGES, "fullnode/beacon").spec;
  const made = spawnSync("sh", ["-c", dataDirScript(beaconData, 1000, false, spec.container.secretFiles)], { encoding: "utf8" });
  t.is(made.status, 0, made.stderr);
  await docker(
    nodeRunArgs({
      name: BEACON_NODE,
      spec,
      imageId: beacon.imageId,
      data: beaconData,
      options: ["--network", NET, ...withJwt()],
      args: ["--mainnet", `--execution-endpoint=http://${ENGINE_NODE}:8551`],
    }),
  );
  const authed = await poll(async () => /wanted chain ID 1, got 4242/.test(await logs(BEACON_NODE)), 90_000, 500);
  t.true(authed, await logs(BEACON_NODE, "--tail", "20"));
  t.notRegex(await logs(BEACON_NODE), /401|nauthorized|invalid token/i);
  const healthy = await poll(
    async () => ((await docker(["inspect", "--format", "{{.State.Health.Status}}", BEACON_NODE])) === "healthy" ? 1 : null),
    60_000,
    500,
  );
  t.truthy(healthy, await logs(BEACON_NODE, "--tail", "20"));
  t.deepEqual(spec.run.health?.command, spec.container.status?.height);
  t.regex(await docker(["exec", BEACON_NODE, ...(spec.container.status?.height ?? [])]), /^\d+$/, "the head slot, bare");
  const since = Math.floor(Date.now() / 1000);
  await docker(["stop", BEACON_NODE]);
  t.is(await docker(["inspect", "--format", "{{.State.ExitCode}}", BEACON_NODE]), "0");
  t.regex(await logs(BEACON_NODE, "--since", String(since)), /Stopping beacon node/);
});
