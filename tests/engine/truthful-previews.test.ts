import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { docker, dockerMaybe } from "../../src/docker/cli";
import { TEST_BASE_IMAGES } from "../helpers/docker";
import { collectSteps, engineStack, imagesFolder, imagesOnlyConfig, newBackend, imageIdOf } from "../helpers/engine";
import { engineTest, requireEngine } from "../helpers/engineTest";

// What the real engine shows and mocks could not: a preview must not say "unchanged" while the build
// would differ, and state must heal when the world changed under it (pruned images, deleted bin/).

requireEngine();

const backend = newBackend();
const GOLANG = TEST_BASE_IMAGES.split(",")
  .find((p) => p.startsWith("golang:"))!
  .split("=")[1];

engineTest("a re-pulled base image shows BuildImage changing in the preview", async (t) => {
  // The stack's golang base is a tag of its own, moved to a new image as `docker pull` would.
  const tag = "cybernode-test/golang-moving:1";
  await docker(["tag", GOLANG, tag]);
  const images = imagesFolder(["fixnode"]);
  const stack = await engineStack(
    "base",
    backend,
    imagesOnlyConfig(images.root, ["fullnode/fixnode"], {
      "cybernode:baseImages": { value: JSON.stringify({ "golang:1.26-bookworm": tag }) },
    }),
  );
  const before = imageIdOf((await stack.up()).outputs, "fullnode/fixnode");
  const c = await docker(["create", tag, "true"]);
  try {
    await docker(["commit", "--change", "LABEL org.cybernode.test.refreshed=1", c, tag]);
  } finally {
    await docker(["rm", "-v", c]);
  }
  const steps = collectSteps();
  await stack.preview({ onEvent: steps.onEvent });
  t.true(steps.steps().includes("BuildImage:update"), `preview: ${steps.steps().join(", ") || "no changes"}`);
  // The new base changes no byte of the static binary: the build reruns, the run image stays.
  const up = collectSteps();
  const after = await stack.up({ onEvent: up.onEvent });
  t.deepEqual(up.steps(), ["Binaries:update", "BuildImage:update"]);
  t.is(imageIdOf(after.outputs, "fullnode/fixnode"), before, "identical binaries keep the run image ID");
});

engineTest("a changed passed-through variable in the environment shows BuildImage changing in the preview", async (t) => {
  const images = imagesFolder([]);
  images.write("fixnode", (s) => s.replace("steps: [\n", 'passEnv: ["FIX_MIRROR"],\n    steps: [\n'));
  const stack = await engineStack("passenv", backend, imagesOnlyConfig(images.root, ["fullnode/fixnode"]));
  stack.workspace.envVars.FIX_MIRROR = "https://mirror-a.example";
  await stack.up();
  stack.workspace.envVars.FIX_MIRROR = "https://mirror-b.example";
  const steps = collectSteps();
  await stack.preview({ onEvent: steps.onEvent });
  t.true(steps.steps().includes("BuildImage:update"), `preview: ${steps.steps().join(", ") || "no changes"}`);
});

engineTest("a promotion that would be refused fails already at preview", async (t) => {
  const tested = imagesFolder(["fixnode"]);
  await (await engineStack("gap-stg", backend, imagesOnlyConfig(tested.root, ["fullnode/fixnode"]))).up();
  const changed = imagesFolder(["fixnode"]);
  changed.write("fixnode", (s) => s.replace('"org.cybernode.chain": "fixture"', '"org.cybernode.chain": "untested-at-preview"'));
  // This checkout has built the changed spec (bin/ is current), so the rebuilt ID is known at preview.
  await (await engineStack("gap-built", backend, imagesOnlyConfig(changed.root, ["fullnode/fixnode"]))).up();
  const prd = await engineStack(
    "gap-prd",
    backend,
    imagesOnlyConfig(changed.root, ["fullnode/fixnode"], { "cybernode:promoteFrom": { value: "gap-stg" } }),
  );
  const err = await t.throwsAsync(prd.preview(), { message: /refusing to deploy/ });
  t.log(
    err!.message
      .split("\n")
      .find((l) => l.includes("refusing to deploy"))
      ?.trim(),
  );
});

engineTest("a run image pruned from the host is restored by the next plain up", async (t) => {
  const images = imagesFolder(["fixnode"]);
  images.write("fixnode", (s) => s.replace('"org.cybernode.chain": "fixture"', '"org.cybernode.chain": "pruned"'));
  const stack = await engineStack("pruned", backend, imagesOnlyConfig(images.root, ["fullnode/fixnode"]));
  const id = imageIdOf((await stack.up()).outputs, "fullnode/fixnode");
  const tags = (await docker(["image", "inspect", "--format", '{{join .RepoTags " "}}', id])).split(" ").filter(Boolean);
  await docker(["rmi", ...tags]); // what `docker image prune -a` does to an image no container uses
  t.is(await dockerMaybe(["image", "inspect", "--format", "{{.Id}}", id]), null);
  const refreshed = await stack.refresh();
  t.is(
    refreshed.summary.resourceChanges?.update,
    1,
    `refresh shows that the run image is gone: ${JSON.stringify(refreshed.summary.resourceChanges)}`,
  );
  const steps = collectSteps();
  await stack.up({ onEvent: steps.onEvent });
  t.deepEqual(steps.steps(), ["RunImage:update"], "only the run image is redone: no build, no extraction");
  t.is(await dockerMaybe(["image", "inspect", "--format", "{{.Id}}", id]), id, "the run image is back, with the same ID");
});

engineTest("a deleted bin/ and step images removed by cybernode clean are rebuilt by the next plain up", async (t) => {
  const images = imagesFolder(["fixnode"]);
  const stack = await engineStack("healing", backend, imagesOnlyConfig(images.root, ["fullnode/fixnode"]));
  const id = imageIdOf((await stack.up()).outputs, "fullnode/fixnode");
  rmSync(join(images.root, "fullnode/fixnode/bin"), { recursive: true });
  const afterRm = collectSteps();
  const r1 = await stack.up({ onEvent: afterRm.onEvent });
  t.deepEqual(afterRm.steps(), ["Binaries:update"]);
  t.true(existsSync(join(images.root, "fullnode/fixnode/bin/fixnode")), "bin/ is back");
  t.is(imageIdOf(r1.outputs, "fullnode/fixnode"), id);

  const stepTags = (await docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "cybernode-step/fullnode-fixnode"]))
    .split("\n")
    .filter(Boolean);
  await docker(["rmi", ...stepTags]);
  const afterClean = collectSteps();
  const r2 = await stack.up({ onEvent: afterClean.onEvent });
  t.true(afterClean.steps().includes("BuildImage:update"), afterClean.steps().join(", "));
  t.is(imageIdOf(r2.outputs, "fullnode/fixnode"), id, "identical binaries, identical run image");
  t.deepEqual(await stack.preview().then((p) => Object.keys(p.changeSummary)), ["same"]);
});

engineTest(
  "an edited artifact list shows the extraction and the run image changing in the preview, not the build, and up ships the new artifact",
  async (t) => {
    const images = imagesFolder(["fixnode"]);
    const stack = await engineStack("artifacts", backend, imagesOnlyConfig(images.root, ["fullnode/fixnode"]));
    const before = imageIdOf((await stack.up()).outputs, "fullnode/fixnode");
    images.write("fixnode", (s) => s.replace('artifacts: ["/out/fixnode"]', 'artifacts: ["/out/fixnode", "/usr/local/go/bin/gofmt"]'));
    const preview = collectSteps();
    await stack.preview({ onEvent: preview.onEvent });
    t.deepEqual(preview.steps(), ["Binaries:update", "RunImage:update"], "extraction and run image; the build steps are unchanged");
    const r = await stack.up();
    t.true(existsSync(join(images.root, "fullnode/fixnode/bin/gofmt")), "the new artifact is in bin/");
    const after = imageIdOf(r.outputs, "fullnode/fixnode");
    t.not(after, before, "and in the run image");
    const c = await docker(["create", after]);
    try {
      t.not(await dockerMaybe(["cp", `${c}:/cyberapp/gofmt`, "-"]), null, "/cyberapp/gofmt is in the run image");
    } finally {
      await docker(["rm", "-v", c]);
    }
    t.deepEqual(await stack.preview().then((p) => Object.keys(p.changeSummary)), ["same"]);
  },
);
