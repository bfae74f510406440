import test from "ava";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRestartableDaemon, type RestartableDaemon } from "../helpers/restartableDaemon";
import {
  Checkout,
  engineEvents,
  containersLabelled,
  cyberUid,
  deployTest,
  inspectContainer,
  interrupt,
  now,
  requireDeploy,
  SKIP_DEPLOY,
  tail,
  until,
} from "../helpers/deploy";

// An update that does not finish: the Docker daemon stops in the middle of it, or the operator presses
// Ctrl-C while a node is being replaced. No container is left over or doubled, and the next plain
// `pulumi up` converges.

requireDeploy();

let co: Checkout;
let daemon: RestartableDaemon | undefined;
const dataRoot = mkdtempSync(join(tmpdir(), "cybernode-deploy-int-"));

test.before(async () => {
  if (SKIP_DEPLOY) return;
  co = await Checkout.installed();
  co.addFixtureImage("fixi");
});

test.after.always(async () => {
  if (SKIP_DEPLOY || !co) return;
  if (daemon?.running()) await co.pulumi(["destroy", "--stack", "restarty", "--yes"]);
  await daemon?.dispose();
  if (containersLabelled("cybernode.stack=ctrlc").length) await co.pulumi(["destroy", "--stack", "ctrlc", "--yes"]);
  co.remove();
  rmSync(dataRoot, { recursive: true, force: true });
});

const node = (delay: string) => ({ image: "fullnode/fixi", ports: [], args: [`--shutdown-delay=${delay}`] });
const argsOf = (name: string, env?: NodeJS.ProcessEnv) => inspectContainer(name, env)?.Config.Cmd as string[] | undefined;

deployTest("the Docker daemon stopped in the middle of an up: the next up converges, one container per node", async (t) => {
  daemon = createRestartableDaemon();
  await daemon.start();
  const there = { ...process.env, DOCKER_HOST: daemon.host };
  const stack = { uid: String(cyberUid()), dataRoot: `${dataRoot}/r`, imagesDirs: ["deploy-images"], host: daemon.host };
  await co.newStack("restarty", { ...stack, nodes: { r1: node("2s"), r2: node("2s") } });
  await co.mustPulumi(["up", "--stack", "restarty", "--yes"]);
  // Both nodes change; the daemon stops as soon as the first of them is being stopped.
  co.write("stacks/Pulumi.restarty.yaml", co.read("stacks/Pulumi.restarty.yaml").replaceAll("--shutdown-delay=2s", "--shutdown-delay=1s"));
  const since = now();
  const { done } = co.startPulumi(["up", "--stack", "restarty", "--yes"]);
  await until("a node being stopped by the update", 120_000, () =>
    engineEvents(since, now(), ["cybernode.stack=restarty"], there).some((e) => e.action === "kill"),
  );
  await daemon.stop();
  const broken = await done;
  t.not(broken.code, 0, "the update fails while the daemon is down");
  await daemon.start();
  const up = await co.pulumi(["up", "--stack", "restarty", "--yes"]);
  t.is(up.code, 0, `the next plain up converges:\n${tail(up.stdout)}\n${tail(up.stderr)}`);
  t.deepEqual(containersLabelled("cybernode.stack=restarty", there), ["r1", "r2"], "one container per node, none left over");
  for (const n of ["r1", "r2"]) {
    t.deepEqual(argsOf(n, there), ["--shutdown-delay=1s"], `${n} runs the new args`);
    t.true(inspectContainer(n, there).State.Running);
  }
  const pv = await co.pulumi(["preview", "--stack", "restarty", "--expect-no-changes"]);
  t.is(pv.code, 0, tail(pv.stdout));
});

deployTest("Ctrl-C while a node is being replaced: no orphan container, and the next up converges", async (t) => {
  await co.newStack("ctrlc", {
    uid: String(cyberUid()),
    dataRoot: `${dataRoot}/c`,
    imagesDirs: ["deploy-images"],
    nodes: { c1: node("3s") },
  });
  await co.mustPulumi(["up", "--stack", "ctrlc", "--yes"]);
  co.write("stacks/Pulumi.ctrlc.yaml", co.read("stacks/Pulumi.ctrlc.yaml").replace("--shutdown-delay=3s", "--shutdown-delay=2s"));
  const since = now();
  const { child, done } = co.startPulumi(["up", "--stack", "ctrlc", "--yes"]);
  await until("c1 being stopped for its replacement", 120_000, () =>
    engineEvents(since, now(), ["cybernode.stack=ctrlc"]).some((e) => e.action === "kill"),
  );
  interrupt(child); // while the daemon flushes for 3 s
  const stopped = await done;
  t.not(stopped.code, 0, "the update reports that it was cancelled");
  t.regex(stopped.stdout + stopped.stderr, /cancel|interrupt/i);
  const kills = engineEvents(since, now(), ["cybernode.stack=ctrlc"]).filter((e) => e.action === "kill");
  t.deepEqual(
    kills.map((e) => e.signal),
    ["15"],
    "the node still got its grace: no SIGKILL",
  );
  // Whatever the cancelled update left, every container of the stack is one Pulumi knows of.
  const state = JSON.parse((await co.mustPulumi(["stack", "export", "--stack", "ctrlc"])).stdout) as {
    deployment: { resources?: { type: string; id?: string }[] };
  };
  const known = (state.deployment.resources ?? []).filter((r) => r.type === "docker:index/container:Container").map((r) => r.id);
  for (const name of containersLabelled("cybernode.stack=ctrlc"))
    t.true(known.includes(inspectContainer(name).Id), `container ${name} is in the stack's state, not an orphan`);
  const up = await co.pulumi(["up", "--stack", "ctrlc", "--yes"]);
  t.is(up.code, 0, `${tail(up.stdout)}\n${tail(up.stderr)}`);
  t.deepEqual(containersLabelled("cybernode.stack=ctrlc"), ["c1"]);
  t.deepEqual(argsOf("c1"), ["--shutdown-delay=2s"]);
  const pv = await co.pulumi(["preview", "--stack", "ctrlc", "--expect-no-changes"]);
  t.is(pv.code, 0, tail(pv.stdout));
});
