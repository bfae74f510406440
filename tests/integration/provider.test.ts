import test from "ava";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runImageProvider, PROVIDER_VERSION, type RunImageInputs } from "../../src/pulumi/imageResource";
import { dataDirProvider } from "../../src/pulumi/dataDirResource";
import { docker } from "../../src/docker/cli";
import { dockerTest } from "../helpers/dockerTest";
import { containerEvents, now, requireDocker, testBaseMap } from "../helpers/docker";
import { runSerializedProvider } from "../helpers/providerHost";

const PROJECT = join(__dirname, "../..");

test.before(async () => {
  if (process.env.CYBERNODE_SKIP_DOCKER !== "1") await requireDocker();
});

const inputs: RunImageInputs = {
  image: "fullnode/fixnode",
  projectDir: PROJECT,
  imagesRoot: join(PROJECT, "tests/fixtures/images"),
  contentHash: "h1",
  baseImages: Object.fromEntries(testBaseMap()),
  dockerHost: "",
  providerVersion: PROVIDER_VERSION,
};

dockerTest("RunImage provider, serialized as Pulumi does: check, create, diff, update, delete against dockerd", async (t) => {
  const script = `
    const out = {};
    out.check = await provider.check({}, input);
    out.created = await provider.create(input);
    let t0 = process.hrtime.bigint();
    out.diffSame = await provider.diff(out.created.id, out.created.outs, input);
    out.diffMs = Number(process.hrtime.bigint() - t0) / 1e6;
    out.diffChanged = await provider.diff(out.created.id, out.created.outs, { ...input, contentHash: "h2" });
    out.diffProvider = await provider.diff(out.created.id, out.created.outs, { ...input, providerVersion: "0" });
    out.since = Date.now() / 1000;
    out.created2 = await provider.create(input);
    out.updated = await provider.update(out.created.id, out.created.outs, input);
    out.until = Date.now() / 1000;
    await provider.delete(out.created.id, out.created.outs);
    return out;`;
  const r = (await runSerializedProvider(runImageProvider, script, inputs)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON from the provider process
  t.deepEqual(r.check.failures, []);
  const imageId = r.created.outs.imageId as string;
  t.regex(imageId, /^sha256:[0-9a-f]{64}$/);
  t.is(r.created.outs.version, "1.0.0");
  t.is(r.created.outs.artifacts[0].path, "fixnode");
  t.is(await docker(["image", "inspect", "--format", "{{.Id}}", imageId]), imageId);
  t.false(r.diffSame.changes, "unchanged inputs: no changes");
  t.true(r.diffChanged.changes);
  t.deepEqual(r.diffChanged.replaces, [], "a rebuild updates the image in place, it never replaces it");
  t.true(r.diffProvider.changes, "a provider version change shows as a diff");
  t.is(r.created2.outs.imageId, imageId, "second create with unchanged inputs: same image");
  t.is(r.updated.outs.imageId, imageId);
  t.is(await containerEvents("start", r.since, r.until), 0, "an unchanged rebuild starts no container");
  t.is(await docker(["image", "inspect", "--format", "{{.Id}}", imageId]), imageId, "delete keeps the image");
  t.log(`no-op diff ${r.diffMs.toFixed(2)} ms`);
});

test("DataDir provider, serialized: creates the folder owned by the uid, delete leaves it", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "cybernode-datadir-"));
  const path = join(root, "btcd");
  const r = await runSerializedProvider(dataDirProvider, `
    const c = await provider.create(input);
    const d = await provider.diff(c.id, c.outs, input);
    const moved = await provider.diff(c.id, c.outs, { ...input, path: input.path + "2" });
    require("fs").writeFileSync(input.path + "/chain.dat", "blocks");
    await provider.delete(c.id, c.outs);
    return { d, moved };`, { path, uid: 1000, selinux: false, local: true });
  t.true(existsSync(join(path, "chain.dat")), "data survives delete");
  t.is(statSync(path).uid, 1000);
  t.false((r.d as { changes: boolean }).changes);
  t.deepEqual((r.moved as { replaces: string[] }).replaces, ["path"]);
  rmSync(root, { recursive: true, force: true });
});
