import test from "ava";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Checkout,
  engineEvents,
  containersLabelled,
  cyberUid,
  deployTest,
  inspectContainer,
  now,
  requireDeploy,
  SKIP_DEPLOY,
} from "../helpers/deploy";

// What changes when an image spec changes: only the containers that run that image roll, each with its
// grace; and a production stack runs exactly the image ID its staging stack ran, or nothing changes.

requireDeploy();

let co: Checkout;
const dataRoot = mkdtempSync(join(tmpdir(), "cybernode-deploy-data-"));
const STACKS = ["rollout", "dstaging", "dprod"];

test.before(async () => {
  if (SKIP_DEPLOY) return;
  co = await Checkout.installed();
  for (const name of ["fixa", "fixb", "fixp"]) co.addFixtureImage(name);
  const common = { uid: String(cyberUid()), dataRoot, imagesDirs: ["deploy-images"] };
  // Fixed container names and no published ports, so the nodes of all three stacks run side by side.
  await co.newStack("rollout", {
    ...common,
    nodes: {
      "roll-a1": { image: "fullnode/fixa", ports: [] },
      "roll-a2": { image: "fullnode/fixa", ports: [] },
      "roll-b": { image: "fullnode/fixb", ports: [] },
    },
  });
  await co.newStack("dstaging", { ...common, nodes: { "stg-node": { image: "fullnode/fixp", ports: [] } } });
  await co.newStack("dprod", { ...common, promoteFrom: "dstaging", nodes: { "prd-node": { image: "fullnode/fixp", ports: [] } } });
});

test.after.always(async () => {
  if (SKIP_DEPLOY || !co) return;
  for (const s of STACKS) if (containersLabelled(`cybernode.stack=${s}`).length) await co.pulumi(["destroy", "--stack", s, "--yes"]);
  co.remove();
  rmSync(dataRoot, { recursive: true, force: true });
});

const imageOf = (container: string) => inspectContainer(container)?.Image as string | undefined;
const outputs = async (stack: string) =>
  JSON.parse((await co.mustPulumi(["stack", "output", "--stack", stack, "--json"])).stdout) as {
    images: Record<string, { imageId: string; version: string }>;
  };

deployTest("a new image version rolls only the containers that run that image, each with its grace", async (t) => {
  await co.mustPulumi(["up", "--stack", "rollout", "--yes"]);
  const before = { a1: imageOf("roll-a1"), a2: imageOf("roll-a2"), b: imageOf("roll-b") };
  t.is(before.a1, before.a2);
  // A new release of fixa: its version is baked into the binary, so the binaries and the run image change.
  co.write("deploy-images/fullnode/fixa.ts", co.read("deploy-images/fullnode/fixa.ts").replace("main.version=1.0.0", "main.version=1.0.1"));
  const steps = await co.previewSteps("rollout");
  t.deepEqual(
    steps.filter((s) => / roll-/.test(s)),
    ["replace roll-a1", "replace roll-a2"],
    "the preview replaces the two fixa containers, not roll-b",
  );
  t.deepEqual(
    steps.filter((s) => !/ roll-/.test(s)),
    ["update fullnode-fixa-bin", "update fullnode-fixa-build", "update fullnode-fixa-run"],
    "and rebuilds fixa alone",
  );
  const since = now();
  await co.mustPulumi(["up", "--stack", "rollout", "--yes"]);
  const events = engineEvents(since, now(), ["cybernode.stack=rollout"]);
  t.deepEqual(
    events.filter((e) => e.name === "roll-b"),
    [],
    "roll-b is not touched",
  );
  for (const n of ["roll-a1", "roll-a2"]) {
    t.deepEqual(
      events.filter((e) => e.name === n && e.action === "kill").map((e) => e.signal),
      ["15"],
      `${n}: stopped with SIGTERM, no SIGKILL`,
    );
    t.is(inspectContainer(n).Config.Labels.version, "1.0.1", `${n} runs the new version`);
  }
  const out = await outputs("rollout");
  t.is(imageOf("roll-a1"), out.images["fullnode/fixa"].imageId);
  t.not(imageOf("roll-a1"), before.a1);
  t.is(imageOf("roll-b"), before.b);
});

deployTest("prod runs exactly the image ID staging ran; a differing image is refused at preview and nothing on prod changes", async (t) => {
  await co.mustPulumi(["up", "--stack", "dstaging", "--yes"]);
  await co.mustPulumi(["up", "--stack", "dprod", "--yes"]);
  const staged = (await outputs("dstaging")).images["fullnode/fixp"].imageId;
  t.is(imageOf("stg-node"), staged);
  t.is(imageOf("prd-node"), staged, "prod runs staging's run image, by ID");
  t.is((await outputs("dprod")).images["fullnode/fixp"].imageId, staged);

  // The run spec changes after staging ran it (bin/ stays current, so the new ID is known at preview).
  co.write(
    "deploy-images/fullnode/fixp.ts",
    co.read("deploy-images/fullnode/fixp.ts").replace('"org.cybernode.chain": "fixture"', '"org.cybernode.chain": "untested"'),
  );
  const stateBefore = co.stateText("dprod");
  const since = now();
  const pv = await co.pulumi(["preview", "--stack", "dprod"]);
  t.not(pv.code, 0, "the preview fails");
  t.regex(pv.stdout + pv.stderr, /image fullnode\/fixp: refusing to deploy/);
  t.regex(pv.stdout + pv.stderr, /stack dstaging ran sha256:[0-9a-f]{64}/);
  const up = await co.pulumi(["up", "--stack", "dprod", "--yes"]);
  t.not(up.code, 0, "so does up");
  t.regex(up.stdout + up.stderr, /refusing to deploy/);
  t.deepEqual(engineEvents(since, now(), ["cybernode.stack=dprod"]), [], "no prod container was touched");
  t.is(imageOf("prd-node"), staged, "prod still runs what staging ran");
  t.is(JSON.parse(co.stateText("dprod")).checkpoint.latest.resources.length, JSON.parse(stateBefore).checkpoint.latest.resources.length);

  // Once staging runs the new image, prod takes exactly that one.
  await co.mustPulumi(["up", "--stack", "dstaging", "--yes"]);
  const restaged = (await outputs("dstaging")).images["fullnode/fixp"].imageId;
  t.not(restaged, staged);
  await co.mustPulumi(["up", "--stack", "dprod", "--yes"]);
  t.is(imageOf("prd-node"), restaged);
});
