import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { docker } from "../../src/docker/cli";
import { containerEvents, now } from "../helpers/docker";
import { collectSteps, engineStack, imagesFolder, imagesOnlyConfig, newBackend, stateFile, imageIdOf } from "../helpers/engine";
import { engineTest, requireEngine } from "../helpers/engineTest";

// The real Pulumi engine with the project's program: an images-only stack (a build host) through
// its life, as `pulumi up` / `preview` / `destroy` would run it.

requireEngine();

const images = imagesFolder(["fixnode"]);
const backend = newBackend();
const config = imagesOnlyConfig(images.root, ["fullnode/fixnode"]);

engineTest(
  "create → up builds the image; preview then shows no changes; a second up changes nothing and starts no container",
  async (t) => {
    const stack = await engineStack("build", backend, config);
    const first = await stack.up();
    t.is(first.summary.result, "succeeded");
    const id = imageIdOf(first.outputs, "fullnode/fixnode");
    t.regex(id, /^sha256:[0-9a-f]{64}$/);
    t.is(await docker(["image", "inspect", "--format", "{{.Id}}", id]), id, "the run image is loaded on the build host");
    t.true(existsSync(join(images.root, "fullnode/fixnode/bin/fixnode")), "bin/ holds the extracted binary");
    t.deepEqual(first.outputs.nodes.value, {}, "an images-only stack runs no node");

    const preview = await stack.preview({ expectNoChanges: true });
    t.deepEqual(
      Object.keys(preview.changeSummary).filter((op) => op !== "same"),
      [],
    );

    const since = now();
    const second = await stack.up({ expectNoChanges: true });
    const until = now();
    t.deepEqual(Object.keys(second.summary.resourceChanges ?? {}), ["same"]);
    t.is(imageIdOf(second.outputs, "fullnode/fixnode"), id);
    t.is(await containerEvents("start", since, until), 0, "a no-op up starts no build container");
  },
);

engineTest("a run-spec-only change updates only RunImage; a build change updates BuildImage, Binaries and RunImage", async (t) => {
  const stack = await engineStack("build", backend, config);
  const before = imageIdOf((await stack.outputs()) as Record<string, { value: unknown }>, "fullnode/fixnode");

  images.write("fixnode", (s) => s.replace('"org.cybernode.chain": "fixture"', '"org.cybernode.chain": "fixture-relabelled"'));
  const runPreview = collectSteps();
  await stack.preview({ onEvent: runPreview.onEvent });
  t.deepEqual(runPreview.steps(), ["RunImage:update"]);
  const runUp = collectSteps();
  const relabelled = await stack.up({ onEvent: runUp.onEvent });
  t.deepEqual(runUp.steps(), ["RunImage:update"]);
  const relabelledId = imageIdOf(relabelled.outputs, "fullnode/fixnode");
  t.not(relabelledId, before);
  t.is(
    await docker(["image", "inspect", "--format", '{{index .Config.Labels "org.cybernode.chain"}}', relabelledId]),
    "fixture-relabelled",
  );

  // New binaries: the version baked in by -ldflags changes.
  images.write("fixnode", (s) =>
    s
      .replace('"org.cybernode.chain": "fixture"', '"org.cybernode.chain": "fixture-relabelled"')
      .replace("main.version=1.0.0", "main.version=1.0.1"),
  );
  const buildPreview = collectSteps();
  await stack.preview({ onEvent: buildPreview.onEvent });
  t.deepEqual(buildPreview.steps(), ["Binaries:update", "BuildImage:update", "RunImage:update"]);
  const buildUp = collectSteps();
  const rebuilt = await stack.up({ onEvent: buildUp.onEvent });
  t.deepEqual(buildUp.steps(), ["Binaries:update", "BuildImage:update", "RunImage:update"]);
  t.is((rebuilt.outputs.images.value as Record<string, { version: string }>)["fullnode/fixnode"].version, "1.0.1");
  t.not(imageIdOf(rebuilt.outputs, "fullnode/fixnode"), relabelledId);
});

engineTest("a build change that yields identical binaries keeps the run image ID (RunImage untouched)", async (t) => {
  const stack = await engineStack("build", backend, config);
  const before = imageIdOf((await stack.outputs()) as Record<string, { value: unknown }>, "fullnode/fixnode");
  // Same binaries from a different first step.
  images.write("fixnode", (s) =>
    s
      .replace('"org.cybernode.chain": "fixture"', '"org.cybernode.chain": "fixture-relabelled"')
      .replace("main.version=1.0.0", "main.version=1.0.1")
      .replace('"mkdir -p /out"', '"mkdir -p /out /tmp/unused"'),
  );
  const up = collectSteps();
  const result = await stack.up({ onEvent: up.onEvent });
  t.deepEqual(up.steps(), ["Binaries:update", "BuildImage:update"]);
  t.is(imageIdOf(result.outputs, "fullnode/fixnode"), before);
});

engineTest("destroy removes the stack's resources and leaves bin/ and the run image in place", async (t) => {
  const stack = await engineStack("build", backend, config);
  const id = imageIdOf((await stack.outputs()) as Record<string, { value: unknown }>, "fullnode/fixnode");
  const result = await stack.destroy();
  t.is(result.summary.result, "succeeded");
  const state = JSON.parse(readFileSync(stateFile(backend, "build"), "utf8")) as { checkpoint: { latest?: { resources?: unknown[] } } };
  t.deepEqual(state.checkpoint.latest?.resources ?? [], [], "no resource is left in the state");
  t.true(existsSync(join(images.root, "fullnode/fixnode/bin/fixnode")), "bin/ stays");
  t.is(await docker(["image", "inspect", "--format", "{{.Id}}", id]), id, "the run image stays (a container may use it)");
});
