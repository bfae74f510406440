import test from "ava";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { buildImage } from "../../src/builder/builder";
import { readManifest } from "../../src/builder/extract";
import { docker } from "../../src/docker/cli";
import { dockerTest } from "../helpers/dockerTest";
import { fixtureSpec, removeTestImages, requireDocker, SKIP_DOCKER, testBaseMap } from "../helpers/docker";
import { temporariesOf } from "../helpers/faults";

// Pulumi runs the image resources of a stack concurrently in one provider process, and two people (or a
// CLI build and a `pulumi up`) may build at once: the builder must be safe under that. Cold caches.

const RUN_ID = Math.random().toString(36).slice(2);
const cold = (tag: string) => (s: Parameters<Parameters<typeof fixtureSpec>[1] & object>[0]) =>
  (s.build.env = { ...s.build.env, CYBERNODE_TEST_RUN: `${RUN_ID}-${tag}` });
const same = fixtureSpec("fullnode/fixnode-twice", cold("twice"));
const a = fixtureSpec("fullnode/fixnode-para", cold("a"));
const b = fixtureSpec("fullnode/fixnode-parb", cold("b"));
const quiet = { baseMap: testBaseMap(), log: () => {} };

test.before(async () => {
  if (SKIP_DOCKER) return;
  await requireDocker();
});

test.after.always(async () => {
  if (SKIP_DOCKER) return;
  for (const l of [same, a, b]) {
    await removeTestImages(l.spec.name);
    rmSync(l.dir, { recursive: true, force: true });
  }
});

/** bin/ holds exactly what its manifest lists, with matching digests, and no partial folder is left. */
function binIntact(dir: string): boolean {
  const m = readManifest(join(dir, "bin"));
  if (!m) return false;
  const ok = m.files.every(
    (f) =>
      createHash("sha256")
        .update(readFileSync(join(dir, "bin", f.path)))
        .digest("hex") === f.sha256,
  );
  return ok && !readdirSync(dir).some((n) => n.startsWith(".bin-partial-"));
}

dockerTest("the same image built twice at once: both succeed with the same image ID and one intact bin/", async (t) => {
  const t0 = Date.now();
  const [x, y] = await Promise.all([buildImage(same, quiet), buildImage(same, quiet)]);
  t.log(`two concurrent cold builds of one image: ${((Date.now() - t0) / 1000).toFixed(1)} s; steps run ${x.stepsRun} + ${y.stepsRun}`);
  t.is(x.imageId, y.imageId);
  t.is(await docker(["image", "inspect", "--format", "{{.Id}}", x.tags[0]]), x.imageId);
  t.true(binIntact(same.dir));
  t.is(readManifest(join(same.dir, "bin"))?.buildKey, x.buildKey);
  t.deepEqual(await temporariesOf(process.pid), []);
});

dockerTest("two different images at once: both complete, each with its own bin/ and run image", async (t) => {
  const t0 = Date.now();
  const [x, y] = await Promise.all([buildImage(a, quiet), buildImage(b, quiet)]);
  const together = (Date.now() - t0) / 1000;
  t.not(x.buildKey, y.buildKey);
  t.is(x.stepsRun, 3);
  t.is(y.stepsRun, 3);
  t.true(binIntact(a.dir));
  t.true(binIntact(b.dir));
  t.is(await docker(["image", "inspect", "--format", "{{.Id}}", x.tags[0]]), x.imageId);
  t.is(await docker(["image", "inspect", "--format", "{{.Id}}", y.tags[0]]), y.imageId);
  t.deepEqual(await temporariesOf(process.pid), []);
  t.log(
    `two different cold images concurrently: ${together.toFixed(1)} s (each alone: ${x.seconds.toFixed(1)} s, ${y.seconds.toFixed(1)} s as measured inside the concurrent run)`,
  );
});
