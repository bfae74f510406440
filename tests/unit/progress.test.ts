import test from "ava";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engineArgument } from "../../src/provider/dispatch";
import { buildLogPath, phaseProgress, statusText } from "../../src/provider/progress";

// What a build under `pulumi up` leaves for its user without an engine to talk to: the log file
// (the engine side is tests/engine/progress.test.ts).

test("each phase appends a dated header and every line to .cybernode/logs/<group>-<name>.log", async (t) => {
  const projectDir = mkdtempSync(join(tmpdir(), "cybernode-progress-"));
  for (const phase of ["build steps", "extraction to bin/"]) {
    const p = phaseProgress({ projectDir, image: "fullnode/btcd", phase });
    t.false(p.written, "nothing is written before the first line");
    p.line(`[fullnode/btcd step 1/2] $ echo ${phase}`);
    p.line(phase);
    await p.flush();
    t.true(p.written);
  }
  const path = buildLogPath(projectDir, "fullnode/btcd");
  t.is(path, join(projectDir, ".cybernode/logs/fullnode-btcd.log"));
  const log = readFileSync(path, "utf8");
  t.regex(log, /=== \d{4}-\d\d-\d\dT[\d:.]+Z fullnode\/btcd: build steps \(pulumi\) ===\n.*echo build steps\nbuild steps\n/);
  t.regex(log, /=== .* fullnode\/btcd: extraction to bin\/ \(pulumi\) ===\n.*\nextraction to bin\/\n$/);
  rmSync(projectDir, { recursive: true, force: true });
});

test("a log past its size limit is moved to .log.1 when the next phase starts; one old log is kept", async (t) => {
  const projectDir = mkdtempSync(join(tmpdir(), "cybernode-progress-"));
  const path = buildLogPath(projectDir, "fullnode/geth");
  mkdirSync(join(projectDir, ".cybernode/logs"), { recursive: true });
  writeFileSync(path, "x".repeat(200));
  const p = phaseProgress({ projectDir, image: "fullnode/geth", phase: "build steps", maxLogBytes: 100 });
  p.line("new build");
  await p.flush();
  t.is(readFileSync(`${path}.1`, "utf8"), "x".repeat(200));
  t.true(readFileSync(path, "utf8").endsWith("new build\n"));
  t.false(existsSync(`${path}.2`));
  rmSync(projectDir, { recursive: true, force: true });
});

test("the plugin finds the engine's address after Pulumi's logging flags; progress lines are one short line", (t) => {
  t.is(engineArgument(["127.0.0.1:40513"]), "127.0.0.1:40513");
  t.is(engineArgument(["--logtostderr", "-v=9", "127.0.0.1:40513"]), "127.0.0.1:40513");
  t.is(engineArgument([]), undefined);
  t.is(statusText("  go: downloading\tgithub.com/x  v1\n"), "go: downloading github.com/x v1");
  const long = statusText("a".repeat(500));
  t.is(long.length, 160);
  t.true(long.endsWith("…"));
});
