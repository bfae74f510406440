import test from "ava";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { cachedBefore } from "../../src/builder/runSteps";
import { join } from "node:path";
import {
  driverScript,
  EXIT_NO_GO,
  GO,
  markerLine,
  PACK_DIR,
  packFile,
  QUIET,
  readMarker,
  stepFile,
  stepScript,
} from "../../src/builder/stepDriver";

// The driver that runs consecutive steps in one build container, run here by this machine's /bin/sh with
// /cyberbuild pointed at a temporary folder: markers, replies, stdin isolation and exit codes.

interface DriverRun {
  code: number | null;
  lines: string[];
}

function runDriver(
  commands: string[],
  reply: (index: number) => string | null,
  env = "GREETING=hello\n",
  pack: { paths: string[]; into: string } = { paths: [], into: "" },
  proc = "/proc",
): Promise<DriverRun> {
  const dir = mkdtempSync(join(tmpdir(), "cybernode-driver-"));
  writeFileSync(join(dir, "env"), env);
  for (const [i, c] of commands.entries()) writeFileSync(join(dir, stepFile(i + 1)), stepScript(c, "/").replaceAll("/cyberbuild", dir));
  const nonce = "0123456789abcdef";
  const script = driverScript(
    commands.map((_, i) => i + 1),
    nonce,
    false,
    pack.paths,
  )
    .replaceAll("/cyberbuild", dir)
    .replaceAll(PACK_DIR, pack.into)
    .replaceAll("/proc/", `${proc}/`);
  const child = spawn("/bin/sh", ["-c", script], { stdio: ["pipe", "pipe", "inherit"] });
  const lines: string[] = [];
  let pending = "";
  child.stdout.on("data", (c: Buffer) => {
    const parts = (pending + c.toString()).split("\n");
    pending = parts.pop() ?? "";
    for (const l of parts) {
      lines.push(l);
      const m = commands.findIndex((_, i) => readMarker(l).marker === markerLine(nonce, i + 1));
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

test("a marker says quiet only when the driver is the one process left (then the commit need not pause)", async (t) => {
  // A stand-in for /proc: each step adds process entries; $PPID in a step is the driver's PID.
  const proc = mkdtempSync(join(tmpdir(), "cybernode-proc-"));
  try {
    const r = await runDriver([`mkdir ${proc}/$PPID`, "true", `mkdir ${proc}/99999`], () => GO, "", undefined, proc);
    t.is(r.code, 0);
    const said = r.lines.filter((l) => l.startsWith("@@cybernode-step-done")).map((l) => readMarker(l).quiet);
    t.deepEqual(said, [true, true, false], "alone after steps 1 and 2; another process after step 3");
    const empty = mkdtempSync(join(tmpdir(), "cybernode-proc-"));
    const unmounted = await runDriver(["true"], () => GO, "", undefined, empty);
    t.deepEqual(
      unmounted.lines.filter((l) => l.endsWith(QUIET)),
      [],
      "no /proc entries: not known to be alone",
    );
    rmSync(empty, { recursive: true, force: true });
  } finally {
    rmSync(proc, { recursive: true, force: true });
  }
});

test("readMarker strips the quiet suffix and reports it; other lines pass as they are", (t) => {
  t.deepEqual(readMarker(`${markerLine("n", 2)}${QUIET}`), { marker: markerLine("n", 2), quiet: true });
  t.deepEqual(readMarker(markerLine("n", 2)), { marker: markerLine("n", 2), quiet: false });
  t.deepEqual(readMarker("go build ./..."), { marker: "go build ./...", quiet: false });
});

test("a step without a trailing newline still leaves the marker on its own line; copied files allow one step", (t) => {
  t.true(driverScript([1], "n").includes(`printf '\\n%s%s\\n'`));
  t.throws(() => driverScript([1, 2], "n", true), { message: /one step per container/ });
  t.regex(
    driverScript([4], "n", true),
    /rm -rf \/cyberbuild \/cyberinputs\nset -- \/proc\/\[0-9\]\*;.*\nprintf/,
    "removed before the marker",
  );
});

test("after the last step, before its marker, each packed path is archived as the engine would (name = last element, links kept)", async (t) => {
  const work = mkdtempSync(join(tmpdir(), "cybernode-pack-"));
  const into = join(work, "out");
  mkdirSync(into);
  const src = join(work, "src");
  try {
    const made = [`mkdir -p ${src}/tree`, `echo bin > ${src}/tool`, `ln -s ../tool ${src}/tree/link`, `echo 1.2 > ${src}/VERSION`];
    const r = await runDriver(["true", made.join(" && ")], () => GO, "", {
      paths: [`${src}/tool`, `${src}/tree`, `${src}/missing`, `${src}/VERSION`],
      into,
    });
    t.is(r.code, 0);
    t.deepEqual(markers(r), [1, 2]);
    t.deepEqual(readdirSync(into).sort(), [packFile(0), packFile(1), packFile(3)], "no archive for a missing path");
    const entries = (n: number) =>
      execFileSync("tar", ["-tvf", join(into, packFile(n))])
        .toString()
        .trim()
        .split("\n");
    t.deepEqual(
      entries(0).map((l) => l.split(/\s+/).pop()),
      ["tool"],
    );
    t.deepEqual(
      entries(1).map((l) => l.replace(/^.* (tree\/?.*)$/, "$1")),
      ["tree/", "tree/link -> ../tool"],
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test("only the last step of a batch packs, and packing never fails a step", (t) => {
  const script = driverScript([1, 2], "n", false, ["/out/a"]);
  const lines = script.split("\n");
  const tarAt = lines.findIndex((l) => l.includes("tar -cf"));
  t.true(tarAt > lines.findIndex((l) => l.includes(stepFile(2))), "after step 2");
  t.true(tarAt < lines.findIndex((l) => l.includes("printf") && l.includes(" 2'")), "before step 2's marker");
  t.is(lines.filter((l) => l.includes("tar -cf")).length, 1);
  t.regex(lines[tarAt], /\|\| rm -f /);
  t.notRegex(driverScript([1, 2], "n"), /tar/);
  t.throws(() => driverScript([1], "n", true, ["/out/a"]), { message: /mounted output folder/ });
});

test("a failed step's message says what the next build starts from", (t) => {
  t.is(cachedBefore(1), "it starts again from step 1");
  t.is(cachedBefore(2), "step 1 is cached");
  t.is(cachedBefore(4), "steps 1-3 are cached");
});
