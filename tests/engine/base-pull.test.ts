import test from "ava";
import { docker, dockerMaybe } from "../../src/docker/cli";
import { runCli } from "../helpers/cli";
import { TEST_BASE_IMAGES } from "../helpers/docker";
import { collectSteps, engineStack, imagesFolder, imagesOnlyConfig, newBackend } from "../helpers/engine";
import { engineTest, requireEngine } from "../helpers/engineTest";
import { type LocalRegistry, startRegistry } from "../helpers/registry";

// A base image that is neither on the host nor mapped is pulled, as docker build would: once, by the
// build (the CLI's and pulumi up's), never by a preview, which says that up will pull it. The registry
// is Debian's docker-registry on loopback, holding the golang stand-in under a name of its own.

requireEngine();

const GOLANG = TEST_BASE_IMAGES.split(",")
  .find((p) => p.startsWith("golang:"))!
  .split("=")[1];
let registry: LocalRegistry | undefined;
let base = "";

test.before(async () => {
  if (process.env.CYBERNODE_SKIP_ENGINE === "1" || process.env.CYBERNODE_SKIP_DOCKER === "1") return;
  registry = await startRegistry();
  base = `${registry.address}/bases/golang:pulltest`;
  await docker(["tag", GOLANG, base]);
  await docker(["push", base]);
  await docker(["rmi", base]); // only the tag: the stand-in keeps its layers, the pull finds them
});
test.after.always(async () => {
  await registry?.stop();
  if (base) await dockerMaybe(["rmi", base]);
});

/** The fixture spec with its base named as pulled from the registry, not mapped. */
function pulledFixture(name: string) {
  const images = imagesFolder([]);
  images.write(name, (text) => text.replace('from: "golang:1.26-bookworm"', `from: "${base}"`));
  return images;
}

engineTest("cybernode build pulls a missing, unmapped base once; the next build does not", async (t) => {
  const images = pulledFixture("pulla");
  const first = await runCli(["build", "fullnode/pulla", "--images", images.root], { CYBERNODE_BASE_IMAGES: "" });
  t.is(first.code, 0, first.stderr);
  t.regex(first.stdout + first.stderr, new RegExp(`pulling ${base.replace(/[./]/g, "\\$&")}: it is not on the Docker host`));
  t.truthy(await dockerMaybe(["image", "inspect", "--format", "{{.Id}}", base]), "the base is on the host now");
  const again = await runCli(["build", "fullnode/pulla", "--images", images.root]);
  t.is(again.code, 0, again.stderr);
  t.notRegex(again.stdout + again.stderr, /pulling/);
  t.regex(again.stdout, /^steps +0 of 3 ran/m);
});

engineTest("a preview says that up will pull a missing base and pulls nothing; up pulls it and builds", async (t) => {
  await dockerMaybe(["rmi", base]);
  const images = pulledFixture("pullb");
  const stack = await engineStack("pull", newBackend(), imagesOnlyConfig(images.root, ["fullnode/pullb"]));
  await stack.up();
  await docker(["rmi", base]);
  const steps = collectSteps();
  const pv = await stack.preview({ onEvent: steps.onEvent });
  t.true(steps.steps().includes("BuildImage:update"), steps.steps().join(", "));
  t.regex(
    pv.stdout,
    new RegExp(`build\\.from: base image ${base.replace(/[./]/g, "\\$&")} is not on the build host: pulumi up pulls it, then builds`),
  );
  t.is(await dockerMaybe(["image", "inspect", base]), null, "the preview pulled nothing");
  const up = await stack.up();
  t.is(up.summary.result, "succeeded");
  t.truthy(await dockerMaybe(["image", "inspect", "--format", "{{.Id}}", base]), "up pulled it");
  const clean = collectSteps();
  await stack.preview({ onEvent: clean.onEvent });
  t.deepEqual(clean.steps(), [], "and the next preview has nothing to do");
});
