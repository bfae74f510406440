import test from "ava";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { loadStackPlan } from "../../src/cli/status";
import type { StackPlan } from "../../src/stack/config";
import { bytesLost, snapshot } from "../helpers/faults";
import { rpc } from "../helpers/rpc";
import {
  Checkout,
  engineEvents,
  containersLabelled,
  deployTest,
  inspectContainer,
  now,
  requireDeploy,
  SKIP_DEPLOY,
  tail,
  until,
} from "../helpers/deploy";

// The README's main command on a fresh clone, as a user types it, and what an operator then does to
// the local stack: a no-op, an edited node arg, a node killed with kill -9, a container removed by
// hand, pulumi destroy. Real CLI, language host and Docker provider; nothing is mocked.

requireDeploy();

const STACK = "local";
const DATA_ROOT = "/home/cyber/cyberdata";
/** Left in the data root while the test owns it: a later run may then clear what a crashed one left. */
const OWNED = join(DATA_ROOT, ".cybernode-deploy-test");
let co: Checkout;
let plan: StackPlan;
const nodeNames = () => plan.nodes.map((n) => n.name);
const stackEvents = (since: number) => engineEvents(since, now(), [`cybernode.stack=${STACK}`]);
const cleanStops = () => {
  const f = join(DATA_ROOT, "fixnode", "clean-shutdown");
  return existsSync(f) ? readFileSync(f, "utf8").split("\n").filter(Boolean).length : 0;
};

test.before(() => {
  if (SKIP_DEPLOY) return;
  co = new Checkout();
  plan = loadStackPlan(co.dir, { stack: STACK, stacksDir: join(co.dir, "stacks"), json: false });
  const taken = nodeNames().filter((n) => inspectContainer(n) !== undefined);
  if (taken.length)
    throw new Error(
      `containers ${taken.join(", ")} exist on this engine: the deploy test runs the README's local stack as typed, ` +
        `which uses those names. Remove them (docker rm -f ${taken.join(" ")}) or run the tests where no local stack runs.`,
    );
  const present = nodeNames().filter((n) => existsSync(join(DATA_ROOT, n)));
  if (present.length && !existsSync(OWNED))
    throw new Error(
      `${present.map((n) => join(DATA_ROOT, n)).join(", ")} exist and were not made by this test: the local stack would use them. ` +
        `Move them away (or rm -rf them) or run the tests where no local stack runs.`,
    );
  for (const n of present) rmSync(join(DATA_ROOT, n), { recursive: true, force: true });
});

test.after.always(async () => {
  if (SKIP_DEPLOY || !co) return;
  if (containersLabelled(`cybernode.stack=${STACK}`).length) await co.pulumi(["destroy", "--stack", STACK, "--yes"]);
  for (const n of nodeNames()) rmSync(join(DATA_ROOT, n), { recursive: true, force: true });
  rmSync(OWNED, { force: true });
  co.remove();
});

/** btcd's RPC through the host port the stack publishes, with TLS and the password of the data folder's rpc.conf. */
function btcdRpc(port: number, method: string): Promise<{ result: unknown; error: unknown }> {
  const conf = readFileSync(join(DATA_ROOT, "btcd", "rpc.conf"), "utf8");
  const user = /rpcuser=(.*)/.exec(conf)?.[1] ?? "";
  const pass = /rpcpass=(.*)/.exec(conf)?.[1] ?? "";
  const body = JSON.stringify({ jsonrpc: "1.0", id: 1, method, params: [] });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        auth: `${user}:${pass}`,
        // btcd made this certificate in its data folder for its own addresses; trust exactly it.
        ca: readFileSync(join(DATA_ROOT, "btcd", ".btcd", "rpc.cert")),
        checkServerIdentity: () => undefined,
        timeout: 5000,
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`HTTP ${res.statusCode}: ${text}`))));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

deployTest(
  "the README's main command on a fresh clone runs every node of the local stack as declared, and the nodes answer RPC",
  async (t) => {
    writeFileSync(OWNED, "made by tests/deploy/local-stack.test.ts\n");
    const r = await co.sh("npm ci && PULUMI_CONFIG_PASSPHRASE= npm run up");
    t.is(r.code, 0, `${tail(r.stdout)}\n${tail(r.stderr)}`);
    t.regex(r.stderr, /stdin is not a terminal.*--yes/, "npm run up says why it passed --yes");
    t.regex(r.stdout, /Resources:\s+\+ \d+ created/);
    t.deepEqual(containersLabelled(`cybernode.stack=${STACK}`), [...nodeNames()].sort());

    // What the README promises for every node, then each field against the plan of the stack file.
    for (const node of plan.nodes) {
      const c = inspectContainer(node.name);
      const h = c.HostConfig;
      const at = `container ${node.name}`;
      t.is(c.Config.User, `${plan.uid}:${plan.uid}`, at);
      t.not(plan.uid, 0);
      t.true(h.ReadonlyRootfs, `${at}: read-only root`);
      t.deepEqual(h.Tmpfs, { "/tmp": "rw,nosuid,nodev,size=64m" }, `${at}: tmpfs /tmp`);
      t.deepEqual(h.SecurityOpt, ["no-new-privileges:true"], at);
      t.deepEqual(h.CapDrop, ["ALL"], at);
      t.deepEqual(h.CapAdd ?? [], [], at);
      t.is(h.RestartPolicy.Name, "always", at);
      t.is(h.RestartPolicy.Name, node.restart, at);
      t.is(c.Config.StopSignal, node.operation.stopSignal, at);
      t.is(c.Config.StopTimeout, node.operation.stopGrace, at);
      t.deepEqual(h.LogConfig, { Type: "json-file", Config: { "max-file": "3", "max-size": "50m" } }, at);
      t.deepEqual(c.Config.Cmd, node.args, at);
      t.is(h.Memory, (node.operation.memoryMiB ?? 0) * 1024 * 1024, `${at}: memory limit`);
      t.is(h.NanoCpus, Number(node.operation.cpus ?? 0) * 1e9, `${at}: CPU limit`);
      const mounts = (c.Mounts as { Type: string; Source: string; Destination: string; RW: boolean }[]).map((m) => [
        m.Type,
        m.Source,
        m.Destination,
        m.RW,
      ]);
      t.deepEqual(mounts, [["bind", `${DATA_ROOT}/${node.name}`, "/cyberdata", true]], `${at}: only the data folder is mounted`);
      const bindings = Object.fromEntries(
        node.ports.map((p) => [`${p.port}/${p.protocol}`, [{ HostIp: p.bind, HostPort: String(p.hostPort) }]]),
      );
      t.deepEqual(h.PortBindings, bindings, `${at}: published ports`);
      t.like(c.Config.Labels, { "cybernode.node": node.name, "cybernode.image": node.image, "cybernode.stack": STACK }, at);
      // No node of the local stack overrides its check: the container runs the run image's own.
      t.is(node.operation.health, "image");
      const image = JSON.parse((await co.sh(`docker image inspect --format '{{json .Config.Healthcheck}}' ${c.Image}`)).stdout);
      t.deepEqual(c.Config.Healthcheck, image, `${at}: health check`);
      t.is(image.Test[0], "CMD", at);
      t.true(c.State.Running, at);
    }
    // The literal figures of the local stack file and the fixture spec, so a wrong default cannot pass by
    // being wrong on both sides.
    const fix = inspectContainer("fixnode");
    t.deepEqual(fix.HostConfig.PortBindings, {
      "18333/tcp": [{ HostIp: "0.0.0.0", HostPort: "18333" }],
      "18545/tcp": [{ HostIp: "127.0.0.1", HostPort: "18545" }],
    });
    t.is(fix.Config.StopTimeout, 20);
    t.is(fix.HostConfig.Memory, 256 * 1024 * 1024);
    t.is(fix.HostConfig.NanoCpus, 500_000_000);
    t.deepEqual(fix.Config.Healthcheck.Test, ["CMD", "/cyberapp/fixnode", "--call", "getblockcount"]);
    t.is(fix.Config.Healthcheck.Interval, 5e9);
    t.is(inspectContainer("btcd").Config.StopTimeout, 300);

    // The nodes answer: fixnode's RPC on the host's loopback; btcd over TLS with the data folder's password.
    const fixAnswer = await until("fixnode RPC on 127.0.0.1:18545", 30_000, () => rpc(18545, "getblockcount"));
    t.like(fixAnswer, { result: 0, error: null });
    const btcdAnswer = await until("btcd RPC on 127.0.0.1:18334", 60_000, () => btcdRpc(18334, "getblockcount"));
    t.like(btcdAnswer, { result: 0, error: null });
    const healthy = await until("fixnode healthy", 30_000, () => inspectContainer("fixnode").State.Health?.Status === "healthy");
    t.true(healthy);
  },
);

deployTest("pulumi preview --expect-no-changes and a no-op up touch no container", async (t) => {
  const since = now();
  const pv = await co.pulumi(["preview", "--stack", STACK, "--expect-no-changes"]);
  t.is(pv.code, 0, tail(pv.stdout));
  const up = await co.pulumi(["up", "--stack", STACK, "--yes", "--expect-no-changes"]);
  t.is(up.code, 0, tail(up.stdout));
  t.regex(up.stdout, /Resources:\s+\d+ unchanged/);
  t.deepEqual(stackEvents(since), [], "no create, kill, die, stop or start on the stack's containers");
});

deployTest(
  "a changed node arg replaces that container alone: the daemon stops on its signal within its grace and its data survives",
  async (t) => {
    const fixData = join(DATA_ROOT, "fixnode");
    const before = snapshot(fixData);
    const stops = cleanStops();
    co.write("stacks/Pulumi.local.yaml", co.read("stacks/Pulumi.local.yaml").replace('"--shutdown-delay=3s"', '"--shutdown-delay=2s"'));
    t.deepEqual(await co.previewSteps(STACK), ["replace fixnode"], "the preview shows exactly one container replace");
    const since = now();
    const up = await co.pulumi(["up", "--stack", STACK, "--yes"]);
    t.is(up.code, 0, tail(up.stdout));
    const events = stackEvents(since);
    t.deepEqual(
      events.filter((e) => e.name !== "fixnode"),
      [],
      "btcd is not touched",
    );
    const kills = events.filter((e) => e.action === "kill");
    t.deepEqual(
      kills.map((e) => e.signal),
      ["15"],
      "one SIGTERM, no SIGKILL",
    );
    t.deepEqual(
      events.filter((e) => e.action === "die").map((e) => e.exitCode),
      ["0"],
      "the daemon exited on its own, with 0",
    );
    t.is(events.filter((e) => e.action === "create").length, 1);
    t.is(cleanStops(), stops + 1, "the fixture wrote its clean-shutdown marker after its 3 s flush");
    t.deepEqual(bytesLost(before, snapshot(fixData)), { bytes: 0, files: [] }, "nothing in the data folder was lost");
    t.deepEqual(inspectContainer("fixnode").Config.Cmd, ["--shutdown-delay=2s"]);
    await until("fixnode RPC after the replace", 30_000, () => rpc(18545, "getblockcount"));
    const starts = readFileSync(join(fixData, "starts.log"), "utf8").split("\n").filter(Boolean).length;
    t.is(starts, 2, "the new container started on the same data folder");
  },
);

deployTest("docker stop gives the daemon the grace the stack declares (the container's own stop timeout)", async (t) => {
  const stops = cleanStops();
  const t0 = Date.now();
  const r = await co.sh("docker stop fixnode && docker start fixnode");
  const ms = Date.now() - t0;
  t.is(r.code, 0, r.stderr);
  t.is(cleanStops(), stops + 1, "the daemon flushed and wrote its marker");
  t.true(ms >= 2000, `docker stop waited for the 2 s flush (${ms} ms)`);
  await until("fixnode RPC after docker start", 30_000, () => rpc(18545, "getblockcount"));
  const pv = await co.pulumi(["preview", "--stack", STACK, "--expect-no-changes"]);
  t.is(pv.code, 0, tail(pv.stdout));
});

deployTest("a node killed with kill -9 comes back by its restart policy, and Pulumi sees nothing to change", async (t) => {
  const pid = inspectContainer("fixnode").State.Pid as number;
  const restarts = inspectContainer("fixnode").RestartCount as number;
  process.kill(pid, "SIGKILL");
  await until("fixnode restarted", 30_000, () => {
    const c = inspectContainer("fixnode");
    return c.RestartCount === restarts + 1 && c.State.Running && c.State.Pid !== pid;
  });
  t.like(await until("fixnode RPC after kill -9", 30_000, () => rpc(18545, "getblockcount")), { result: 0 });
  const pv = await co.pulumi(["preview", "--stack", STACK, "--expect-no-changes"]);
  t.is(pv.code, 0, tail(pv.stdout));
});

deployTest("a container removed by hand is reported by pulumi refresh and made again by the next up", async (t) => {
  const r = await co.sh("docker stop btcd >/dev/null && docker rm btcd");
  t.is(r.code, 0, r.stderr);
  const refresh = await co.pulumi(["refresh", "--stack", STACK, "--yes"]);
  t.is(refresh.code, 0, tail(refresh.stdout));
  t.regex(refresh.stdout, /docker:index:Container\s+btcd\s+deleted/, "refresh reports the container gone");
  t.deepEqual(await co.previewSteps(STACK), ["create btcd"], "the next preview creates it, and only it");
  const since = now();
  const up = await co.pulumi(["up", "--stack", STACK, "--yes"]);
  t.is(up.code, 0, tail(up.stdout));
  t.deepEqual(
    stackEvents(since)
      .filter((e) => e.action === "create")
      .map((e) => e.name),
    ["btcd"],
  );
  t.like(await until("btcd RPC after it was made again", 60_000, () => btcdRpc(18334, "getblockcount")), { result: 0 });
  t.true(existsSync(join(DATA_ROOT, "btcd", "simnet")), "btcd found its chain data where it left it");
});

deployTest("pulumi destroy gives every daemon its grace and keeps the data folders", async (t) => {
  const stops = cleanStops();
  const since = now();
  const r = await co.pulumi(["destroy", "--stack", STACK, "--yes"]);
  t.is(r.code, 0, tail(r.stdout));
  const events = stackEvents(since);
  for (const name of nodeNames()) {
    const mine = events.filter((e) => e.name === name);
    t.deepEqual(
      mine.filter((e) => e.action === "kill").map((e) => e.signal),
      ["15"],
      `${name}: SIGTERM only`,
    );
    t.deepEqual(
      mine.filter((e) => e.action === "die").map((e) => e.exitCode),
      ["0"],
      `${name}: exited on its own`,
    );
    t.true(existsSync(join(DATA_ROOT, name)), `${name}'s data folder is kept`);
  }
  t.is(cleanStops(), stops + 1, "fixnode flushed and wrote its marker");
  t.deepEqual(containersLabelled(`cybernode.stack=${STACK}`), []);
  t.true(existsSync(join(DATA_ROOT, "btcd", "rpc.conf")));
  t.true(readdirSync(join(DATA_ROOT, "fixnode")).includes("fixnode.marker"));
});
