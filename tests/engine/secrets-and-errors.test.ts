import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { docker } from "../../src/docker/cli";
import { leftoverTemporaries } from "../helpers/docker";
import { buildLogPath } from "../../src/provider/progress";
import { collectSteps, engineStack, imagesFolder, imagesOnlyConfig, newBackend, PROJECT, stateFile } from "../helpers/engine";
import { engineTest, requireEngine } from "../helpers/engineTest";

// Secrets through the real passphrase secrets provider, and the ways an engine run goes wrong.

requireEngine();

const backend = newBackend("the-right-passphrase");
// New for every run, so the steps that use it are never cached and really receive it.
const TOKEN = `tok-${randomUUID()}`;
// The fixture spec with a passed-through variable that a build step requires.
const images = imagesFolder([]);
images.write("fixnode", (s) =>
  s.replace(
    'steps: [\n      "mkdir -p /out",',
    'passEnv: ["FIX_TOKEN"],\n    steps: [\n      "mkdir -p /out",\n      "test -n \\"$FIX_TOKEN\\"",',
  ),
);
const config = imagesOnlyConfig(images.root, ["fullnode/fixnode"], {
  "cybernode:buildEnv": { value: JSON.stringify({ FIX_TOKEN: TOKEN }), secret: true },
});

engineTest("a secret build value reaches the build steps but never the state file, the stack file or an image", async (t) => {
  const stack = await engineStack("secrets", backend, config);
  const up = await stack.up();
  t.is(up.summary.result, "succeeded", "the step that needs FIX_TOKEN passed");
  const state = readFileSync(stateFile(backend, "secrets"), "utf8");
  t.false(state.includes(TOKEN), "no plain token in the state file");
  t.true(state.includes("ciphertext"), "the value is stored encrypted");
  const settings = JSON.stringify(await stack.workspace.stackSettings("secrets"));
  t.false(settings.includes(TOKEN), "no plain token in the stack settings");
  const buildTag = (
    JSON.parse(state) as { checkpoint: { latest: { resources: { type: string; outputs: { buildTag?: string } }[] } } }
  ).checkpoint.latest.resources.find((r) => r.type.endsWith("BuildImage"))!.outputs.buildTag!;
  const history = await docker(["image", "inspect", buildTag]);
  t.false(history.includes(TOKEN), "the committed build image does not carry it");

  // A changed value is a changed build: the preview says so.
  await stack.setConfig("cybernode:buildEnv", { value: JSON.stringify({ FIX_TOKEN: `${TOKEN}-rotated` }), secret: true });
  const steps = collectSteps();
  await stack.preview({ onEvent: steps.onEvent });
  // All three phases take buildEnv; nothing else changes (the plugin's provider does not hold the stack config).
  t.deepEqual(steps.steps(), ["Binaries:update", "BuildImage:update", "RunImage:update"]);
  await stack.setConfig("cybernode:buildEnv", { value: JSON.stringify({ FIX_TOKEN: TOKEN }), secret: true });
});

engineTest("a wrong passphrase stops the update with a clear message and leaves the state usable", async (t) => {
  const wrong = await engineStack("secrets", { ...backend, passphrase: "not-the-passphrase" });
  const err = await t.throwsAsync(wrong.up());
  t.regex(err!.message, /passphrase/i);
  t.log(
    err!.message
      .split("\n")
      .filter((l) => /passphrase/i.test(l))
      .slice(0, 2)
      .join("\n"),
  );
  const right = await engineStack("secrets", backend);
  const again = await right.up({ expectNoChanges: true });
  t.is(again.summary.result, "succeeded");
});

engineTest("selecting a stack that does not exist says which", async (t) => {
  const err = await t.throwsAsync(
    LocalWorkspace.selectStack(
      { stackName: "no-such-stack", projectName: "cybernode", program: async () => ({}) },
      {
        pulumiCommand: (await engineStack("secrets", backend)).workspace.pulumiCommand,
        projectSettings: { name: "cybernode", runtime: "nodejs", backend: { url: `file://${backend.dir}` } },
        envVars: { PULUMI_CONFIG_PASSPHRASE: backend.passphrase },
      },
    ),
  );
  t.regex(err!.message, /no-such-stack/);
});

engineTest(
  "an interrupted up (SIGINT to the engine) stops the running step at once, ends cleanly and the next up continues from its state",
  async (t) => {
    // A build long enough to interrupt: a new slow step at the end.
    images.write("fixnode", (s) =>
      s
        .replace(
          'steps: [\n      "mkdir -p /out",',
          'passEnv: ["FIX_TOKEN"],\n    steps: [\n      "mkdir -p /out",\n      "test -n \\"$FIX_TOKEN\\"",',
        )
        .replace('> /out/VERSION",', '> /out/VERSION",\n      "sleep 6",'),
    );
    const stack = await engineStack("secrets", backend);
    // Other builds on this engine (another developer's, another suite's) are not this test's to judge.
    const others = new Set(await leftoverTemporaries());
    const abort = new AbortController();
    let buildStarted = false;
    let abortedAt = 0;
    const logFile = buildLogPath(PROJECT, "fullnode/fixnode");
    const logBefore = existsSync(logFile) ? readFileSync(logFile, "utf8").length : 0;
    const run = stack.up({
      signal: abort.signal,
      onEvent: (e) => {
        if (!buildStarted && e.resourcePreEvent?.metadata.type.endsWith("BuildImage")) {
          buildStarted = true;
          setTimeout(() => {
            abortedAt = Date.now();
            abort.abort();
          }, 1500);
        }
      },
    });
    const err = await t.throwsAsync(run);
    t.true(buildStarted);
    t.log(`up ended ${((Date.now() - abortedAt) / 1000).toFixed(1)} s after the SIGINT, in a 6 s step`);
    // The engine asks the plugin to cancel: the running step is stopped, not waited for.
    const log = readFileSync(logFile, "utf8").slice(logBefore);
    t.regex(log, /\$ sleep 6/, "the slow step had started");
    const after = log.slice(log.indexOf("$ sleep 6") + "$ sleep 6".length);
    t.notRegex(after, /\$ |done in/, "and neither finished nor was followed by another step");
    t.regex(err!.message, /cancel|interrupt|signal/i);
    t.log(
      err!.message
        .split("\n")
        .filter((l) => /cancel|interrupt|signal/i.test(l))
        .slice(0, 3)
        .join("\n"),
    );
    t.deepEqual(
      (await leftoverTemporaries()).filter((c) => !others.has(c)),
      [],
      "no temporary container is left behind",
    );
    const state = JSON.parse(readFileSync(stateFile(backend, "secrets"), "utf8")) as {
      checkpoint: { latest: { pending_operations?: unknown[] } };
    };
    t.deepEqual(state.checkpoint.latest.pending_operations ?? [], [], "no operation is left pending");
    const next = await stack.up();
    t.is(next.summary.result, "succeeded");
    t.deepEqual(await stack.preview().then((p) => Object.keys(p.changeSummary)), ["same"]);
  },
);
