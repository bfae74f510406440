import type { EngineEvent } from "@pulumi/pulumi/automation";
import { existsSync, readFileSync } from "node:fs";
import { buildLogPath } from "../../src/provider/progress";
import { engineStack, imagesFolder, imagesOnlyConfig, newBackend, PROJECT } from "../helpers/engine";
import { engineTest, requireEngine } from "../helpers/engineTest";

// A long build under `pulumi up` must not look hung: step progress reaches the engine's display while the
// step runs (ephemeral diagnostics on the BuildImage's URN), the full log lands in .cybernode/logs/, and
// a failure names that file.

requireEngine();

const RUN = Math.random().toString(36).slice(2, 8);
const backend = newBackend();
const images = imagesFolder([]);
// A slow, chatty step (6 s, one line a second), new for every run so it really runs.
images.write("fixprogress", (s) =>
  s.replace('"mkdir -p /out",', `"mkdir -p /out",\n      "for i in 1 2 3 4 5 6; do echo tick-$i-${RUN}; sleep 1; done",`),
);
images.write("fixprogressfail", (s) => s.replace('"mkdir -p /out",', `"mkdir -p /out",\n      "echo failing-now-${RUN}; exit 5",`));

interface Seen {
  at: number;
  message: string;
}

engineTest("a long build step streams its progress to the engine's display while it runs, and logs to .cybernode/logs", async (t) => {
  const stack = await engineStack("progress", backend, imagesOnlyConfig(images.root, ["fullnode/fixprogress"]));
  const progress: Seen[] = [];
  let buildDone = 0;
  const onEvent = (e: EngineEvent) => {
    const d = e.diagnosticEvent;
    // The engine ends each message with a newline.
    if (d?.ephemeral && d.urn?.endsWith("::fullnode-fixprogress-build"))
      progress.push({ at: Date.now(), message: d.message.replace(/\n$/, "") });
    if (e.resOutputsEvent?.metadata.urn.endsWith("::fullnode-fixprogress-build")) buildDone = Date.now();
  };
  const up = await stack.up({ onEvent });
  t.is(up.summary.result, "succeeded");
  t.true(buildDone > 0, "the BuildImage finished");
  const before = progress.filter((p) => p.at <= buildDone);
  const ticks = before.filter((p) => p.message.includes(`-${RUN}`));
  t.log(`${before.length} progress messages before the build finished; ${ticks.length} with step output:`);
  for (const p of before) t.log(`  +${((p.at - before[0].at) / 1000).toFixed(1)} s ${p.message}`);
  t.true(
    before.some((p) => /step 2\/4\] \$ for i in/.test(p.message)),
    "the step's header is shown",
  );
  t.true(ticks.length >= 2, "output of the running step is shown, throttled");
  t.true(ticks[ticks.length - 1].at - ticks[0].at >= 2000, "and while it runs, not all at the end");
  t.true(
    before.every((p) => !p.message.includes("\n") && p.message.length <= 160),
    "one display line each",
  );

  const log = readFileSync(buildLogPath(PROJECT, "fullnode/fixprogress"), "utf8");
  for (let i = 1; i <= 6; i++) t.true(log.includes(`tick-${i}-${RUN}`), `tick ${i} in the log file`);
  t.regex(log, /=== \S+ fullnode\/fixprogress: build steps \(pulumi\) ===/);
});

engineTest("a failing build step under pulumi up names the log file that holds its whole output", async (t) => {
  const stack = await engineStack("progress-fail", backend, imagesOnlyConfig(images.root, ["fullnode/fixprogressfail"]));
  const path = buildLogPath(PROJECT, "fullnode/fixprogressfail");
  const err = await t.throwsAsync(stack.up());
  t.regex(err!.message, /build step 2\/4 failed with exit code 5/);
  t.true(err!.message.includes(`full log of this build: ${path}`), err!.message);
  t.true(existsSync(path));
  t.true(readFileSync(path, "utf8").includes(`failing-now-${RUN}`));
});
