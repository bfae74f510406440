import test from "ava";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../helpers/host";
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
  tail,
} from "../helpers/deploy";

// What a stack cannot do on its host is refused with the stack file and key named, before anything
// changes: a host port another process holds, a data root on a read-only file system, a data folder
// the node's uid cannot be given, an image that no longer builds. The running node is left alone.

requireDeploy();

let co: Checkout;
let port = 0;
const dataRoot = mkdtempSync(join(tmpdir(), "cybernode-deploy-bad-"));
const readOnly = mkdtempSync(join(tmpdir(), "cybernode-deploy-ro-"));
let stackText = "";
const STACKS = ["faulty", "rofs"];

test.before(async () => {
  if (SKIP_DEPLOY) return;
  if (process.getuid?.() !== 0)
    throw new Error("the bad-input deploy tests mount a read-only file system: run them as root (bash scripts/test.sh)");
  co = await Checkout.installed();
  co.addFixtureImage("fixf");
  port = await freePort();
  await co.newStack("faulty", {
    uid: String(cyberUid()),
    dataRoot,
    imagesDirs: ["deploy-images"],
    nodes: { "fault-a": { image: "fullnode/fixf", ports: [`127.0.0.1:${port}:18545`] } },
  });
  stackText = co.read("stacks/Pulumi.faulty.yaml");
  await co.mustPulumi(["up", "--stack", "faulty", "--yes"]);
});

test.after.always(async () => {
  if (SKIP_DEPLOY || !co) return;
  spawnSync("chattr", ["-i", join(dataRoot, "fault-b")]);
  spawnSync("umount", [readOnly]);
  for (const s of STACKS) if (containersLabelled(`cybernode.stack=${s}`).length) await co.pulumi(["destroy", "--stack", s, "--yes"]);
  co.remove();
  rmSync(dataRoot, { recursive: true, force: true });
  rmSync(readOnly, { recursive: true, force: true });
});

/** A preview and an up that must both fail with `message`, touching no container of the stack. */
async function refused(t: import("ava").ExecutionContext, stack: string, message: RegExp): Promise<string> {
  const running = inspectContainer("fault-a");
  const since = now();
  const pv = await co.pulumi(["preview", "--stack", stack]);
  t.not(pv.code, 0, "the preview fails");
  t.regex(pv.stdout + pv.stderr, message);
  t.notRegex(pv.stdout + pv.stderr, /unhandled exception|at validateStackConfig/, "a message, not a stack trace");
  const up = await co.pulumi(["up", "--stack", stack, "--yes"]);
  t.not(up.code, 0, "up fails too");
  t.regex(up.stdout + up.stderr, message);
  t.deepEqual(engineEvents(since, now(), [`cybernode.stack=${stack}`]), [], "no container was touched");
  const after = inspectContainer("fault-a");
  t.is(after.Id, running.Id, "the running node is the same container");
  t.true(after.State.Running);
  return pv.stdout + pv.stderr;
}

deployTest("a host port another process holds is refused at preview, naming the node's ports key", async (t) => {
  const taken = await freePort();
  const server: Server = createServer().listen(taken, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  try {
    co.write("stacks/Pulumi.faulty.yaml", stackText.replace(`127.0.0.1:${port}:18545`, `127.0.0.1:${taken}:18545`));
    const out = await refused(
      t,
      "faulty",
      new RegExp(`cybernode:nodes\\.fault-a\\.ports: host port ${taken}/tcp on 127\\.0\\.0\\.1 is taken by another process`),
    );
    t.regex(out, /stacks\/Pulumi\.faulty\.yaml/, "names the stack file");
    t.regex(out, /Nothing was changed/);
  } finally {
    server.close();
    co.write("stacks/Pulumi.faulty.yaml", stackText);
  }
  const pv = await co.pulumi(["preview", "--stack", "faulty", "--expect-no-changes"]);
  t.is(pv.code, 0, tail(pv.stdout));
});

deployTest("a data root on a read-only file system is refused at preview, naming cybernode:dataRoot", async (t) => {
  const m = spawnSync("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", readOnly], { encoding: "utf8" });
  t.is(m.status, 0, m.stderr);
  await co.newStack("rofs", {
    uid: String(cyberUid()),
    dataRoot: `${readOnly}/cyberdata`,
    imagesDirs: ["deploy-images"],
    nodes: { "ro-node": { image: "fullnode/fixf", ports: [] } },
  });
  await refused(t, "rofs", /cybernode:dataRoot: \S+\/ro-node cannot be made: \S+ is on a read-only file system/);
  t.is(inspectContainer("ro-node"), undefined, "no container was made");
});

deployTest(
  "a data folder the node's uid cannot be given fails up naming cybernode:uid, before the node is made; fixed, up converges",
  async (t) => {
    const folder = join(dataRoot, "fault-b");
    mkdirSync(folder);
    // Root cannot hand an immutable folder over, as on a root-squashed NFS export.
    t.is(spawnSync("chattr", ["+i", folder]).status, 0);
    co.write(
      "stacks/Pulumi.faulty.yaml",
      stackText.replace('"fault-a":', '"fault-b": { "image": "fullnode/fixf", "ports": [] }, "fault-a":'),
    );
    const up = await co.pulumi(["up", "--stack", "faulty", "--yes"]);
    t.not(up.code, 0);
    t.regex(
      up.stdout + up.stderr,
      /stacks\/Pulumi\.faulty\.yaml: cybernode:dataRoot \/ cybernode:uid: data folder \S+fault-b .* for uid \d+: .*operation not permitted/i,
    );
    t.regex(up.stdout + up.stderr, /The node was not started/);
    t.is(inspectContainer("fault-b"), undefined, "no container for the node");
    spawnSync("chattr", ["-i", folder]);
    await co.mustPulumi(["up", "--stack", "faulty", "--yes"]);
    t.true(inspectContainer("fault-b").State.Running, "the next up makes the folder and starts the node");
    co.write("stacks/Pulumi.faulty.yaml", stackText);
    await co.mustPulumi(["up", "--stack", "faulty", "--yes"]);
  },
);

deployTest("an image spec that no longer builds fails up naming the image and step; the old container keeps running", async (t) => {
  const spec = co.read("deploy-images/fullnode/fixf.ts");
  co.write(
    "deploy-images/fullnode/fixf.ts",
    spec.replace('"mkdir -p /out",', '"mkdir -p /out",\n      "echo broken on purpose >&2; exit 3",'),
  );
  try {
    const running = inspectContainer("fault-a");
    const since = now();
    const up = await co.pulumi(["up", "--stack", "faulty", "--yes"]);
    t.not(up.code, 0);
    t.regex(up.stdout + up.stderr, /fullnode\/fixf.*step 2\/\d.*exit(ed| code) 3/s);
    t.regex(up.stdout + up.stderr, /broken on purpose/);
    t.deepEqual(engineEvents(since, now(), ["cybernode.stack=faulty"]), [], "the running node was not touched");
    t.is(inspectContainer("fault-a").Id, running.Id);
    t.true(inspectContainer("fault-a").State.Running);
  } finally {
    co.write("deploy-images/fullnode/fixf.ts", spec);
  }
  const pv = await co.pulumi(["preview", "--stack", "faulty", "--expect-no-changes"]);
  t.is(pv.code, 0, `with the spec restored nothing is left to do\n${tail(pv.stdout)}`);
});
