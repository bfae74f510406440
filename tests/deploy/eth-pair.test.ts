import test from "ava";
import { engineToken } from "../helpers/engineToken";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../helpers/host";
import {
  Checkout,
  containersLabelled,
  cyberUid,
  deployTest,
  engineEvents,
  inspectContainer,
  now,
  requireDeploy,
  SKIP_DEPLOY,
  tail,
  until,
} from "../helpers/deploy";

// The catalogue's Ethereum pair as a stack, from `pulumi up` alone: geth and the Prysm beacon node on
// the stack's own network, reading one shared Engine API secret, the beacon node made once geth is
// healthy. geth runs mainnet without peers (--nodiscover --maxpeers=0), the beacon node mainnet from
// genesis without discovery: no public peer is reached and nothing is downloaded, and the beacon node
// still checks geth's chain id over the authenticated Engine API before it says it is connected.
// Then: nothing changes on a no-op; deleting the secret on the host makes a new one and restarts both,
// geth first; another stack cannot take the network; destroy stops the beacon node first.

requireDeploy();

let co: Checkout;
let rpcPort = 0;
let beaconPort = 0;
const dataRoot = mkdtempSync(join(tmpdir(), "cybernode-deploy-pair-"));
const jwtFile = join(dataRoot, ".secrets/engine-jwt/jwt.hex");
const GETH = "pair-geth";
const BEACON = "pair-beacon";
const STACKS = ["pair", "pairclash"];

test.before(async () => {
  if (SKIP_DEPLOY) return;
  co = await Checkout.installed();
  co.addFixtureImage("fixp");
  [rpcPort, beaconPort] = [await freePort(), await freePort()];
  await co.newStack("pair", {
    uid: String(cyberUid()),
    dataRoot,
    sharedSecrets: { "engine-jwt": { file: "jwt.hex", template: "${random}" } },
    nodes: {
      [GETH]: {
        image: "fullnode/geth",
        args: ["--nodiscover", "--maxpeers=0"],
        secrets: ["engine-jwt"],
        ports: [`127.0.0.1:${rpcPort}:8545`],
        // Checked every 5 s, so that up makes the beacon node within seconds of geth answering.
        health: { interval: 5, timeout: 4, retries: 3, startPeriod: 120 },
      },
      [BEACON]: {
        image: "fullnode/beacon",
        after: [GETH],
        secrets: ["engine-jwt"],
        args: ["--mainnet", `--execution-endpoint=http://${GETH}:8551`, "--no-discovery"],
        ports: [`127.0.0.1:${beaconPort}:3500`],
        // The image checks every 60 s; the test does not wait that long for its first check.
        health: { interval: 5, timeout: 4, retries: 3, startPeriod: 120 },
      },
    },
  });
});

test.after.always(async () => {
  if (SKIP_DEPLOY || !co) return;
  for (const s of STACKS) if (containersLabelled(`cybernode.stack=${s}`).length) await co.pulumi(["destroy", "--stack", s, "--yes"]);
  spawnSync("docker", ["network", "rm", "cybernode-pair"]);
  co.remove();
  rmSync(dataRoot, { recursive: true, force: true });
});

const health = (name: string) => inspectContainer(name)?.State?.Health?.Status as string | undefined;
const logs = (name: string) => {
  const r = spawnSync("docker", ["logs", name], { encoding: "utf8" });
  return `${r.stdout}${r.stderr}`;
};

/** eth_chainId on geth's Engine API from a container on the stack's network, by node name: HTTP status line and body. */
function askEngine(token?: string): { status: string; body: string } {
  const r = spawnSync(
    "docker",
    [
      "run",
      "--rm",
      "--network",
      "cybernode-pair",
      "cybernode-test/busybox:local",
      "wget",
      "-S",
      "-q",
      "-O",
      "-",
      "--header",
      "content-type: application/json",
      ...(token ? ["--header", `authorization: Bearer ${token}`] : []),
      "--post-data",
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      `http://${GETH}:8551/`,
    ],
    { encoding: "utf8", timeout: 60_000 },
  );
  return { status: /HTTP\/1\.1 (\d+)/.exec(r.stderr)?.[1] ?? `exit ${r.status}: ${r.stderr}`, body: r.stdout };
}

deployTest("pulumi up alone runs the pair: one network, the shared JWT, the beacon node made once geth is healthy", async (t) => {
  const steps = await co.previewSteps("pair");
  for (const step of ["create network-pair", "create secret-engine-jwt", `create ${GETH}`, `create ${BEACON}`])
    t.true(steps.includes(step), step);
  const since = now();
  const t0 = Date.now();
  const up = await co.pulumi(["up", "--stack", "pair", "--yes"]);
  t.is(up.code, 0, tail(up.stdout + up.stderr));
  await until("both nodes healthy", 300_000, () => health(GETH) === "healthy" && health(BEACON) === "healthy");
  t.log(
    `pulumi up to both nodes healthy: ${((Date.now() - t0) / 1000).toFixed(1)} s (images already built by the e2e suite or an earlier run)`,
  );

  const [geth, beacon] = [inspectContainer(GETH), inspectContainer(BEACON)];
  for (const c of [geth, beacon]) {
    t.is(c.HostConfig.NetworkMode, "cybernode-pair", `${c.Name} on the stack's network`);
    t.deepEqual(Object.keys(c.NetworkSettings.Networks), ["cybernode-pair"], `${c.Name} on no other network`);
    const mount = (c.Mounts as { Source: string; Destination: string; RW: boolean }[]).find(
      (m) => m.Destination === "/cybersecrets/jwt.hex",
    );
    t.deepEqual(mount && { source: mount.Source, rw: mount.RW }, { source: jwtFile, rw: false }, `${c.Name} reads the secret read-only`);
    t.false(JSON.stringify(c.HostConfig.PortBindings ?? {}).includes("8551"), `${c.Name}: 8551 is not published on the host`);
  }
  t.is(beacon.Config.Labels["cybernode.after"], GETH);
  // The order: geth healthy (up waited for it) before the beacon container was made.
  const events = engineEvents(since, now(), ["cybernode.stack=pair"]);
  const at = (name: string, action: string) => events.find((e) => e.name === name && e.action === action)?.time ?? Number.NaN;
  t.true(at(GETH, "start") < at(BEACON, "create"), JSON.stringify(events));

  const secret = readFileSync(jwtFile, "utf8");
  t.regex(secret, /^[0-9a-f]{64}$/, "32 random bytes as 64 hex digits");
  t.is(statSync(jwtFile).mode & 0o777, 0o600);
  t.is(statSync(jwtFile).uid, cyberUid());
  t.is(statSync(join(dataRoot, ".secrets/engine-jwt")).mode & 0o777, 0o700);
  t.false(co.stateText("pair").includes(secret), "0 bytes of the secret in state");
  t.false(up.stdout.includes(secret) || up.stderr.includes(secret), "nor in up's output");

  // The beacon node authenticated: Prysm says so only after an authenticated call that returned the
  // chain id it expects (a token from another secret gets 401, as below).
  await until("the beacon node's connection to geth", 120_000, () =>
    /Connected to new endpoint.*endpoint="http:\/\/pair-geth:8551"/.test(logs(BEACON)),
  );
  t.notRegex(logs(BEACON), /401|nauthorized|invalid token/i);
  const right = askEngine(engineToken(secret));
  t.is(right.status, "200", right.body);
  t.regex(right.body, /"result":"0x1"/, "mainnet's chain id, over the authenticated API");
  t.is(askEngine(engineToken("ab".repeat(32))).status, "401", "a token not made from the shared secret is refused");
  t.is(askEngine().status, "401", "and one without a token");
  const slot = await until("the Beacon API", 60_000, async () => {
    const r = await fetch(`http://127.0.0.1:${beaconPort}/eth/v1/node/syncing`).catch(() => undefined);
    return r?.ok ? ((await r.json()) as { data: { head_slot: string } }).data.head_slot : undefined;
  });
  t.regex(slot, /^\d+$/);
});

deployTest("a no-op preview and up change nothing and touch no container", async (t) => {
  const since = now();
  const pv = await co.pulumi(["preview", "--stack", "pair", "--expect-no-changes"]);
  t.is(pv.code, 0, tail(pv.stdout));
  const up = await co.pulumi(["up", "--stack", "pair", "--yes", "--expect-no-changes"]);
  t.is(up.code, 0, tail(up.stdout));
  t.deepEqual(engineEvents(since, now(), ["cybernode.stack=pair"]), []);
});

deployTest("a secret deleted on the host: the preview says so, up makes a new one and restarts geth, then the beacon node", async (t) => {
  const old = readFileSync(jwtFile, "utf8");
  unlinkSync(jwtFile);
  const steps = await co.previewSteps("pair");
  t.deepEqual(
    steps.filter((s) => !s.startsWith("same")),
    ["replace secret-engine-jwt", `replace ${BEACON}`, `replace ${GETH}`].sort(),
  );
  const since = now();
  const up = await co.pulumi(["up", "--stack", "pair", "--yes"]);
  t.is(up.code, 0, tail(up.stdout + up.stderr));
  const fresh = readFileSync(jwtFile, "utf8");
  t.regex(fresh, /^[0-9a-f]{64}$/);
  t.not(fresh, old, "a new secret");
  const events = engineEvents(since, now(), ["cybernode.stack=pair"]);
  const at = (name: string, action: string) => events.find((e) => e.name === name && e.action === action)?.time ?? Number.NaN;
  t.true(at(GETH, "start") < at(BEACON, "start"), "geth back first");
  for (const name of [GETH, BEACON]) {
    t.deepEqual(
      events.filter((e) => e.name === name && e.action === "kill").map((e) => e.signal),
      ["15"],
      `${name} got SIGTERM once, no SIGKILL`,
    );
    t.is(events.find((e) => e.name === name && e.action === "die")?.exitCode, "0", `${name} stopped cleanly`);
  }
  await until("both healthy again", 300_000, () => health(GETH) === "healthy" && health(BEACON) === "healthy");
  t.is(askEngine(engineToken(fresh)).status, "200", "geth reads the new secret");
  t.is(askEngine(engineToken(old)).status, "401", "and refuses the old one");
  await until("the beacon node reconnects with it", 120_000, () => {
    const since2 = String(Math.floor(at(BEACON, "start")));
    const r = spawnSync("docker", ["logs", "--since", since2, BEACON], { encoding: "utf8" });
    return /Connected to new endpoint/.test(r.stdout + r.stderr);
  });
});

deployTest("a secret replaced by hand on the host: the preview says so and up restarts both nodes with it", async (t) => {
  const mine = "c0".repeat(32);
  writeFileSync(jwtFile, mine);
  utimesSync(jwtFile, new Date(), new Date(Date.now() + 5000)); // another mtime, even within the second
  const steps = await co.previewSteps("pair");
  t.deepEqual(
    steps.filter((s) => !s.startsWith("same")),
    ["replace pair-beacon", "replace pair-geth", "update secret-engine-jwt"],
  );
  const up = await co.pulumi(["up", "--stack", "pair", "--yes"]);
  t.is(up.code, 0, tail(up.stdout + up.stderr));
  t.is(readFileSync(jwtFile, "utf8"), mine, "the operator's value is kept");
  await until("both healthy again", 300_000, () => health(GETH) === "healthy" && health(BEACON) === "healthy");
  t.is(askEngine(engineToken(mine)).status, "200", "geth reads the operator's secret");
  const pv = await co.pulumi(["preview", "--stack", "pair", "--expect-no-changes"]);
  t.is(pv.code, 0, tail(pv.stdout));
});

deployTest("another stack on the host cannot take the pair's network: refused at preview, naming the key", async (t) => {
  await co.newStack("pairclash", {
    uid: String(cyberUid()),
    dataRoot,
    network: "cybernode-pair",
    imagesDirs: ["deploy-images"],
    nodes: { "clash-node": { image: "fullnode/fixp", ports: [] } },
  });
  const since = now();
  const pv = await co.pulumi(["preview", "--stack", "pairclash"]);
  t.not(pv.code, 0);
  t.regex(
    pv.stdout + pv.stderr,
    /stacks\/Pulumi\.pairclash\.yaml.*\n?.*cybernode:network: network cybernode-pair on this host belongs to stack pair: each stack needs its own/,
  );
  const up = await co.pulumi(["up", "--stack", "pairclash", "--yes"]);
  t.not(up.code, 0);
  t.regex(up.stdout + up.stderr, /Nothing was changed/);
  t.deepEqual(containersLabelled("cybernode.stack=pairclash"), []);
  t.deepEqual(engineEvents(since, now(), ["cybernode.stack=pair"]), [], "the pair is not touched");
});

deployTest("destroy stops the beacon node before geth, each with its grace; the data and the secret stay", async (t) => {
  const since = now();
  const r = await co.pulumi(["destroy", "--stack", "pair", "--yes"]);
  t.is(r.code, 0, tail(r.stdout + r.stderr));
  const events = engineEvents(since, now(), ["cybernode.stack=pair"]);
  const at = (name: string, action: string) => events.find((e) => e.name === name && e.action === action)?.time ?? Number.NaN;
  t.true(at(BEACON, "die") <= at(GETH, "kill"), `the beacon node stops first: ${JSON.stringify(events)}`);
  for (const name of [GETH, BEACON]) t.is(events.find((e) => e.name === name && e.action === "die")?.exitCode, "0", name);
  t.false(spawnSync("docker", ["network", "inspect", "cybernode-pair"]).status === 0, "the stack's network goes with it");
  t.true(existsSync(jwtFile), "the secret stays, as the data does");
  t.true(existsSync(join(dataRoot, GETH, "geth")));
});
