import test from "ava";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { driverScript, EXIT_NO_GO, GO, markerLine, stepFile, stepScript } from "../../src/plan/stepDriver";

// The driver that runs consecutive steps in one build container, run here by this machine's /bin/sh with
// /cyberbuild pointed at a temporary folder: markers, replies, stdin isolation and exit codes.

interface DriverRun {
  code: number | null;
  lines: string[];
}

function runDriver(commands: string[], reply: (index: number) => string | null, env = "GREETING=hello\n"): Promise<DriverRun> {
  const dir = mkdtempSync(join(tmpdir(), "cybernode-driver-"));
  writeFileSync(join(dir, "env"), env);
  for (const [i, c] of commands.entries()) writeFileSync(join(dir, stepFile(i + 1)), stepScript(c, "/").replaceAll("/cyberbuild", dir));
  const nonce = "0123456789abcdef";
  const script = driverScript(
    commands.map((_, i) => i + 1),
    nonce,
  ).replaceAll("/cyberbuild", dir);
  const child = spawn("/bin/sh", ["-c", script], { stdio: ["pipe", "pipe", "inherit"] });
  const lines: string[] = [];
  let pending = "";
  child.stdout.on("data", (c: Buffer) => {
    const parts = (pending + c.toString()).split("\n");
    pending = parts.pop() ?? "";
    for (const l of parts) {
      lines.push(l);
      const m = commands.findIndex((_, i) => l === markerLine(nonce, i + 1));
      if (m < 0) continue;
      const r = reply(m + 1);
      if (r === null) child.stdin.end();
      else child.stdin.write(`${r}\n`);
    }
  });
  return new Promise((resolve) =>
    child.on("close", (code) => {
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, lines });
    }),
  );
}

const markers = (r: DriverRun) => r.lines.filter((l) => l.startsWith("@@cybernode-step-done")).map((l) => Number(l.split(" ")[2]));

test("each step's marker comes after its output; a step reading stdin sees end of input, not the replies", async (t) => {
  const r = await runDriver(["echo one $GREETING", "cat; echo two", "echo three"], () => GO);
  t.is(r.code, 0);
  t.deepEqual(markers(r), [1, 2, 3]);
  t.deepEqual(
    r.lines.filter((l) => l && !l.startsWith("@@")),
    ["one hello", "two", "three"],
  );
});

test("a failing step ends the driver with the step's exit code; later steps do not run", async (t) => {
  const r = await runDriver(["echo ok", "false; echo not reached", "echo never"], () => GO);
  t.is(r.code, 1);
  t.deepEqual(markers(r), [1]);
  t.false(r.lines.includes("not reached"), "steps run under set -e");
  t.false(r.lines.includes("never"));
  const exit7 = await runDriver(["exit 7"], () => GO);
  t.is(exit7.code, 7);
  t.deepEqual(markers(exit7), []);
});

test("without the builder's go (it went away, or a commit failed) the driver stops with its own code", async (t) => {
  const gone = await runDriver(["echo a", "echo b"], () => null);
  t.is(gone.code, EXIT_NO_GO);
  t.deepEqual(markers(gone), [1]);
  const refused = await runDriver(["echo a", "echo b"], () => "stop");
  t.is(refused.code, EXIT_NO_GO);
  t.false(refused.lines.includes("b"));
});

test("a step without a trailing newline still leaves the marker on its own line; copied files allow one step", (t) => {
  t.true(driverScript([1], "n").includes(`printf '\\n%s\\n'`));
  t.throws(() => driverScript([1, 2], "n", true), { message: /one step per container/ });
  t.regex(driverScript([4], "n", true), /rm -rf \/cyberbuild \/cyberinputs\nprintf/);
});
