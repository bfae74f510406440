import { docker, dockerMaybe } from "../../src/docker/cli";
import { engineStack, imagesFolder, imagesOnlyConfig, newBackend, imageIdOf } from "../helpers/engine";
import { engineTest, requireEngine } from "../helpers/engineTest";

// Staging → production through a real StackReference on the file backend: the promoted stack must
// run exactly the image the source stack ran, or stop before loading anything.

requireEngine();

const backend = newBackend();
const tested = imagesFolder(["fixnode"]);

engineTest("a stack promoting from another gets the same run image ID; a differing image is refused and nothing is loaded", async (t) => {
  const stg = await engineStack("stg", backend, imagesOnlyConfig(tested.root, ["fullnode/fixnode"]));
  const stgUp = await stg.up();
  const stgId = imageIdOf(stgUp.outputs, "fullnode/fixnode");
  const exported = (stgUp.outputs.images.value as Record<string, { imageId: string; configDigest: string }>)["fullnode/fixnode"];
  t.is(exported.configDigest, stgId, "classic image store: the image ID is the config digest");

  const prd = await engineStack(
    "prd",
    backend,
    imagesOnlyConfig(tested.root, ["fullnode/fixnode"], { "cybernode:promoteFrom": { value: "stg" } }),
  );
  const promoted = await prd.up();
  t.is(imageIdOf(promoted.outputs, "fullnode/fixnode"), stgId, "the promoted stack runs the image staging ran");

  // The spec changed after staging ran it: the rebuilt image differs and must not reach the host.
  const changed = imagesFolder(["fixnode"]);
  changed.write("fixnode", (s) => s.replace('"org.cybernode.chain": "fixture"', '"org.cybernode.chain": "untested"'));
  const drifted = await engineStack(
    "prd2",
    backend,
    imagesOnlyConfig(changed.root, ["fullnode/fixnode"], { "cybernode:promoteFrom": { value: "stg" } }),
  );
  // bin/ of this folder is not current: the preview cannot know the ID yet and says so in one line.
  const pv = await drifted.preview();
  // Pulumi prints a diagnostic beside the resource and again under "Diagnostics": one line there.
  const said = pv.stdout.split("\n").filter((l) => /^\s+image fullnode\/fixnode: promotion from stg is checked at pulumi up/.test(l));
  t.is(said.length, 1, pv.stdout);
  const err = await t.throwsAsync(drifted.up());
  t.regex(err!.message, /image fullnode\/fixnode: refusing to deploy/);
  t.regex(err!.message, /stack stg ran sha256:/);
  const rebuilt = /rebuilt here is (sha256:[0-9a-f]{64})/.exec(err!.message)?.[1];
  t.truthy(rebuilt, "the message names the rebuilt ID");
  t.not(rebuilt, stgId);
  t.is(await dockerMaybe(["image", "inspect", "--format", "{{.Id}}", rebuilt!]), null, "the refused image was not loaded");
  t.is(await docker(["image", "inspect", "--format", "{{.Id}}", stgId]), stgId);
});

engineTest("promoting from a stack that has no state stops with a message naming it", async (t) => {
  const orphan = await engineStack(
    "orphan",
    backend,
    imagesOnlyConfig(tested.root, ["fullnode/fixnode"], { "cybernode:promoteFrom": { value: "never-deployed" } }),
  );
  const err = await t.throwsAsync(orphan.preview());
  t.regex(err!.message, /never-deployed/);
  t.deepEqual(
    await orphan.exportStack().then((s) => (s.deployment as { resources?: unknown[] }).resources ?? []),
    [],
    "nothing was created",
  );
});
