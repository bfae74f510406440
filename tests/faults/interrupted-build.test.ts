import test from "ava";
import type { ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage } from "../../src/builder/builder";
import { runCli, type CliRun } from "../helpers/cli";
import { dockerTest } from "../helpers/dockerTest";
import { fixtureSpec, removeTestImages, requireDocker, TEST_BASE_IMAGES, testBaseMap } from "../helpers/docker";
import {
  binState,
  containerState,
  faultName,
  partialFolders,
  removeContainers,
  runFixture,
  temporariesOf,
  type ContainerState,
} from "../helpers/faults";

// Fault: `cybernode build` is interrupted (Ctrl-C or a service manager's SIGTERM) during a build step
// and during extraction. Afterwards: no temporary container of that process, bin/ is the previous
// complete one (or absent), a running node is untouched, and the next build resumes from the cache.

const root = mkdtempSync(join(tmpdir(), "cybernode-fault-cli-"));
const RUN = Math.random().toString(36).slice(2, 8);
const node = fixtureSpec(`fullnode/fault-cli-node-${RUN}`);
const data = mkdtempSync(join(tmpdir(), "cybernode-fault-cli-data-"));
const container = faultName("cli-node");
const names: string[] = [];
let nodeBefore: ContainerState;

test.before(async () => {
  if (process.env.CYBERNODE_SKIP_DOCKER === "1") return;
  await requireDocker();
  mkdirSync(join(root, "fullnode"), { recursive: true });
  const built = await buildImage(node, { baseMap: testBaseMap(), log: () => {} });
  chownSync(data, 1000, 1000);
  await runFixture({ name: container, image: built.imageId, data });
  nodeBefore = (await containerState(container))!;
});

test.after.always(async () => {
  if (process.env.CYBERNODE_SKIP_DOCKER === "1") return;
  await removeContainers(container);
  for (const n of [node.spec.name, ...names]) await removeTestImages(n);
  rmSync(root, { recursive: true, force: true });
  rmSync(node.dir, { recursive: true, force: true });
  rmSync(data, { recursive: true, force: true });
});

/** Writes images/fullnode/<file>.ts as a plain object (no project imports), as a user's spec file could be. */
function writeSpec(file: string, steps: string[], artifacts: string[]): string {
  const name = `fullnode/${file}`;
  if (!names.includes(name)) names.push(name);
  const spec = {
    build: { from: "debian:bookworm", env: { FAULT_RUN: RUN }, steps, artifacts, version: { file: "/out/VERSION" } },
    run: { entrypoint: [`/cyberapp/${artifacts[0].split("/").pop()}`] },
    container: { name: file },
  };
  writeFileSync(join(root, "fullnode", `${file}.ts`), `export default ${JSON.stringify(spec, null, 2)};\n`);
  return name;
}

/** Each CLI run gets its own TMPDIR, so scratch folders it leaves behind can be counted. */
function cli(args: string[], whileRunning?: (child: ChildProcess) => void): Promise<CliRun & { tmp: string }> {
  const tmp = mkdtempSync(join(tmpdir(), "cybernode-fault-clitmp-"));
  return runCli(args, { CYBERNODE_BASE_IMAGES: TEST_BASE_IMAGES, TMPDIR: tmp }, whileRunning).then((r) => ({ ...r, tmp }));
}

/** Scratch folders of the builder (step files, staged inputs) left in a CLI run's TMPDIR. */
const scratchLeft = (tmp: string) => (existsSync(tmp) ? readdirSync(tmp).filter((n) => n.startsWith("cybernode-")) : []);

/** A build that runs to the end; its TMPDIR is checked for leftovers and removed. */
async function build(name: string) {
  const r = await cli(["build", name, "--images", root, "--json"]);
  const scratch = scratchLeft(r.tmp);
  rmSync(r.tmp, { recursive: true, force: true });
  return { ...r, scratch };
}

type When = { step: number } | "extract";

/** Runs a build and sends `signal` once it is in the given step (its first log line) or in extraction. */
async function interrupted(name: string, signal: NodeJS.Signals, when: When) {
  let pid = 0;
  let sentAt = 0;
  let trigger: Promise<void> = Promise.resolve();
  const started = Date.now();
  const r = await cli(["build", name, "--images", root], (child) => {
    pid = child.pid!;
    let exited = false;
    child.once("exit", () => (exited = true));
    const send = () => {
      if (exited || sentAt) return;
      sentAt = Date.now();
      child.kill(signal);
    };
    if (when === "extract") {
      // Extraction writes into a .bin-partial-* folder beside bin/ (from the build container after its
      // last step, or from an extraction container): send the signal once that folder exists.
      const dir = join(root, name);
      const extracting = () => existsSync(dir) && readdirSync(dir).some((n) => n.startsWith(".bin-partial-"));
      trigger = (async () => {
        while (!exited && !sentAt) {
          if (extracting()) send();
          else await new Promise((res) => setTimeout(res, 10));
        }
      })();
    } else {
      const marker = new RegExp(`\\[${name} step ${when.step}/\\d+\\] started`);
      let err = "";
      child.stderr!.on("data", (c: Buffer) => {
        err += c.toString();
        if (marker.test(err)) send();
      });
    }
  });
  await trigger;
  return { ...r, pid, sentAfterMs: sentAt ? sentAt - started : -1, exitedAfterMs: Date.now() - started };
}

interface Case {
  title: string;
  signal: NodeJS.Signals;
  when: When;
  /** Whether a complete build is made first, so a previous bin/ exists. */
  previous: boolean;
  /** Spec file name, the steps of the first complete build (if any) and of the interrupted one. */
  file: string;
  first: string[];
  second: string[];
  artifacts: string[];
  /**
   * Build steps the next build may run (the interrupted one and later ones only). Extraction runs beside
   * the last step's commit: a signal during it finds that commit done (0) or cuts it (1).
   */
  rerun: number[];
}

const STEP_FIRST = ["mkdir -p /out && cp /bin/true /out/true", "echo 1.0.0 > /out/VERSION", "echo started; sleep 1"];
const STEP_SECOND = [...STEP_FIRST.slice(0, 2), "echo started; sleep 6"];
const BIG_FIRST = ["mkdir -p /out && dd if=/dev/urandom of=/out/big bs=1M count=300 status=none", "echo 1.0.0 > /out/VERSION"];
const BIG_SECOND = [BIG_FIRST[0], "echo 1.0.1 > /out/VERSION"];

const CASES: Case[] = [
  {
    title: "SIGINT during a build step, no previous bin/",
    signal: "SIGINT",
    when: { step: 3 },
    previous: false,
    file: `fault-int-step-${RUN}`,
    first: [],
    second: STEP_SECOND,
    artifacts: ["/out/true"],
    rerun: [1],
  },
  {
    title: "SIGTERM during a build step, previous bin/",
    signal: "SIGTERM",
    when: { step: 3 },
    previous: true,
    file: `fault-term-step-${RUN}`,
    first: STEP_FIRST,
    second: STEP_SECOND,
    artifacts: ["/out/true"],
    rerun: [1],
  },
  {
    title: "SIGINT during extraction of a 300 MB artifact, previous bin/",
    signal: "SIGINT",
    when: "extract",
    previous: true,
    file: `fault-int-extract-${RUN}`,
    first: BIG_FIRST,
    second: BIG_SECOND,
    artifacts: ["/out/big"],
    rerun: [0, 1],
  },
  {
    title: "SIGTERM during extraction of a 300 MB artifact, no previous bin/",
    signal: "SIGTERM",
    when: "extract",
    previous: false,
    file: `fault-term-extract-${RUN}`,
    first: [],
    second: BIG_SECOND,
    artifacts: ["/out/big"],
    rerun: [0, 1],
  },
];

for (const c of CASES) {
  dockerTest(c.title, async (t) => {
    const dir = join(root, "fullnode", c.file);
    const binDir = join(dir, "bin");
    let name = "";
    if (c.previous) {
      name = writeSpec(c.file, c.first, c.artifacts);
      const ok = await build(name);
      t.is(ok.code, 0, ok.stderr);
      t.deepEqual(ok.scratch, []);
    }
    const before = binState(binDir);
    t.is(before.manifest !== null, c.previous);
    name = writeSpec(c.file, c.second, c.artifacts);

    const r = await interrupted(name, c.signal, c.when);
    try {
      // Facts first (logged even when an assertion fails), then the assertions.
      const temps = await temporariesOf(r.pid);
      const after = binState(binDir);
      const partial = partialFolders(dir);
      const scratch = scratchLeft(r.tmp);
      const nodeNow = await containerState(container);
      t.log(
        `${c.title}: signal after ${(r.sentAfterMs / 1000).toFixed(1)} s, exit ${r.code} ${(r.exitedAfterMs - r.sentAfterMs) / 1000} s after the signal; ${temps.length} temporary containers left; bin/ ${after.manifest === before.manifest ? (c.previous ? "unchanged" : "absent") : "CHANGED"}; ${partial.length} .bin-partial-* and ${scratch.length} scratch folders left (${scratch.join(", ")})`,
      );
      t.true(r.sentAfterMs > 0, `the signal was sent (the build ended first: code ${r.code}): ${r.stderr.slice(-2000)}`);
      t.is(r.code, c.signal === "SIGINT" ? 130 : 143, r.stderr.slice(-2000));
      t.regex(r.stderr, new RegExp(`${c.signal}: removing [1-9]\\d* temporary container`));
      t.deepEqual(temps, [], "no temporary container of the interrupted process");
      t.is(after.manifest, before.manifest, c.previous ? "bin/MANIFEST.json has the same bytes" : "bin/ is absent");
      t.true(after.intact, after.bad.join("; "));
      if (!c.previous) t.false(existsSync(binDir));
      t.deepEqual(partial, [], "no .bin-partial-* folder left in the image folder");
      t.deepEqual(scratch, [], "no step or input scratch folder left in TMPDIR");
      t.deepEqual(nodeNow, nodeBefore, "the running node is untouched");

      const next = await build(name);
      t.is(next.code, 0, next.stderr);
      t.deepEqual(next.scratch, [], "a completed build leaves no scratch folder");
      const result = JSON.parse(next.stdout) as { stepsRun: number; stepsTotal: number; extracted: boolean };
      t.true(
        c.rerun.includes(result.stepsRun),
        `steps before the interrupted one come from the cache (${result.stepsRun} of ${result.stepsTotal} ran, expected ${c.rerun.join(" or ")})`,
      );
      t.true(result.extracted);
      const done = binState(binDir);
      t.true(done.intact && done.manifest !== null, done.bad.join("; "));
      t.deepEqual(partialFolders(dir), []);
      t.deepEqual(await temporariesOf(r.pid), []);
      t.log(`${c.title}: next build ran ${result.stepsRun} of ${result.stepsTotal} steps and completed`);
    } finally {
      rmSync(r.tmp, { recursive: true, force: true });
    }
  });
}

dockerTest("the running node survived all interruptions", async (t) => {
  const now = (await containerState(container))!;
  t.deepEqual(now, nodeBefore);
  t.true(now.running);
  t.log(`node ${now.id.slice(0, 12)}: same container, running, RestartCount ${now.restartCount}, started ${now.startedAt}`);
});
