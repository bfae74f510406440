import test from "ava";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage, planBuild, type BuildResult } from "../../src/builder/builder";
import { readManifest } from "../../src/builder/extract";
import { StepFailedError } from "../../src/builder/runSteps";
import { UnsafeArchiveError } from "../../src/archive/safeExtract";
import { InputError } from "../../src/imageSpec/errors";
import { docker, dockerMaybe } from "../../src/docker/cli";
import { dockerTest } from "../helpers/dockerTest";
import { containerEvents, fixtureSpec, leftoverTemporaries, now, removeTestImages, requireDocker, testBaseMap } from "../helpers/docker";
import { rpc, waitForRpc } from "../helpers/rpc";

// One image name per test run; a random env value makes the first build really cold.
const NAME = "fullnode/fixnode-it";
const RUN_ID = Math.random().toString(36).slice(2);
const cold = (s: Parameters<Parameters<typeof fixtureSpec>[1] & object>[0]) =>
  (s.build.env = { ...s.build.env, CYBERNODE_TEST_RUN: RUN_ID });
const loaded = fixtureSpec(NAME, cold);
const quiet = { baseMap: testBaseMap(), log: () => {} };
let first: BuildResult;

/** Output of a shell script run in a throwaway container of an image (its entrypoint replaced by /bin/sh). */
const shellIn = (image: string, script: string) => docker(["run", "--rm", "--entrypoint", "/bin/sh", image, "-c", script]);

test.before(async () => {
  if (process.env.CYBERNODE_SKIP_DOCKER === "1") return;
  await requireDocker();
  await removeTestImages(NAME);
});

test.after.always(async () => {
  if (process.env.CYBERNODE_SKIP_DOCKER === "1") return;
  await removeTestImages(NAME);
  await removeTestImages("fullnode/fixnode-busybox");
  await removeTestImages("fullnode/ls-libs");
  rmSync(loaded.dir, { recursive: true, force: true });
});

dockerTest("cold build runs every step, extracts and loads the planned image ID", async (t) => {
  const t0 = now();
  first = await buildImage(loaded, quiet);
  t.is(first.stepsRun, 3);
  t.is(first.stepsTotal, 3);
  t.true(first.extracted);
  t.true(first.loaded);
  t.is(first.version, "1.0.0");
  t.regex(first.imageId, /^sha256:[0-9a-f]{64}$/);
  t.is(await docker(["image", "inspect", "--format", "{{.Id}}", first.tags[0]]), first.imageId);
  // One container for the 3 consecutive steps, each step committed under its own cache key.
  t.is(first.stepContainers, 1);
  t.is(await containerEvents("start", t0, now()), 1);
  t.is(await containerEvents("pause", t0, now()), 0, "no step left a process running, so no commit paused the container");
  for (const st of (await planBuild(loaded, quiet)).steps)
    t.regex(await docker(["image", "inspect", "--format", "{{.Id}}", st.tag]), /^sha256:/);
});

dockerTest("the extraction manifest matches the sha256 of the files in bin/", (t) => {
  const m = readManifest(join(loaded.dir, "bin"))!;
  t.is(m.version, "1.0.0");
  t.deepEqual(m.artifacts, ["fixnode"]);
  t.is(readFileSync(join(loaded.dir, "bin", "VERSION"), "utf8"), "1.0.0\n");
  for (const f of m.files) {
    const data = readFileSync(join(loaded.dir, "bin", f.path));
    t.is(createHash("sha256").update(data).digest("hex"), f.sha256, f.path);
    t.is(data.length, f.size);
  }
});

dockerTest("a no-op rebuild starts zero containers and keeps the image ID", async (t) => {
  const t0 = now();
  const r = await buildImage(loaded, quiet);
  const t1 = now();
  t.is(r.stepsRun, 0);
  t.false(r.extracted);
  t.false(r.loaded);
  t.is(r.imageId, first.imageId);
  t.is(await containerEvents("create", t0, t1), 0);
  t.is(await containerEvents("start", t0, t1), 0);
});

dockerTest(
  "an edited artifact list is extracted again though every step is cached; bin/ stays as it was when a path is missing",
  async (t) => {
    const withArtifacts = (artifacts: string[]) => {
      const other = fixtureSpec(NAME, (s) => {
        cold(s);
        s.build.artifacts = artifacts;
      });
      rmSync(other.dir, { recursive: true, force: true });
      return { ...loaded, spec: other.spec };
    };
    const binDir = join(loaded.dir, "bin");
    const before = readManifest(binDir)!;
    await t.throwsAsync(buildImage(withArtifacts(["/out/fixnode", "/out/not-built"]), quiet), {
      instanceOf: InputError,
      message: /build\.artifacts: '\/out\/not-built' could not be copied out of the build image/,
    });
    t.deepEqual(readManifest(binDir), before, "bin/ was left as it was");

    const more = await buildImage(withArtifacts(["/out/fixnode", "/usr/local/go/bin/gofmt"]), quiet);
    t.is(more.stepsRun, 0, "the steps are cached");
    t.true(more.extracted);
    t.deepEqual(more.manifest.artifacts, ["fixnode", "gofmt"]);
    t.true(existsSync(join(binDir, "gofmt")));
    t.not(more.imageId, first.imageId, "the run image has the new artifact");

    const back = await buildImage(loaded, quiet);
    t.true(back.extracted, "the original list is extracted again");
    t.false(existsSync(join(binDir, "gofmt")));
    t.is(back.imageId, first.imageId);
  },
);

dockerTest("changing only the last step reruns only that step; same binaries give the same image ID", async (t) => {
  const changed = {
    ...loaded,
    spec: {
      ...loaded.spec,
      build: { ...loaded.spec.build, steps: [...loaded.spec.build.steps.slice(0, 2), `${loaded.spec.build.steps[2]} # changed`] },
    },
  };
  const t0 = now();
  const lines: string[] = [];
  const r = await buildImage(changed, { ...quiet, log: (l) => lines.push(l) });
  t.is(r.stepsRun, 1);
  t.true(
    lines.includes(`[${NAME}] 2 of 3 steps cached; running 1 from the image of step 2`),
    `the log names where the build resumes: ${lines[0]}`,
  );
  t.is(await containerEvents("start", t0, now()), 1);
  t.true(r.extracted);
  t.is(r.imageId, first.imageId);
});

dockerTest("a commit pauses the build container while a process a step started runs on in it", async (t) => {
  const [one, two, three] = loaded.spec.build.steps;
  const lingering = {
    ...loaded,
    // Step 2 leaves a sleep behind (reparented to the driver): the commits of steps 2 and 3 must pause.
    spec: { ...loaded.spec, build: { ...loaded.spec.build, steps: [one, `(sleep 120 >/dev/null 2>&1 &); ${two}`, three] } },
  };
  const t0 = now();
  const r = await buildImage(lingering, quiet);
  t.is(r.stepsRun, 2);
  t.is(await containerEvents("pause", t0, now()), 2);
  t.is(r.imageId, first.imageId, "same binaries, same run image");
});

dockerTest("two clean assemblies give the same image ID", async (t) => {
  await docker(["rmi", "-f", ...first.tags]);
  t.is(await dockerMaybe(["image", "inspect", first.imageId]), null);
  rmSync(join(loaded.dir, "bin"), { recursive: true, force: true });
  const r = await buildImage(loaded, quiet);
  t.true(r.extracted);
  t.true(r.loaded);
  t.is(r.imageId, first.imageId);
});

dockerTest("the run image runs as uid 1000 with the stack's hardening, writes to a bind-mounted /cyberdata and answers RPC", async (t) => {
  const data = mkdtempSync(join(tmpdir(), "cybernode-data-"));
  chownSync(data, 1000, 1000);
  const name = `cybernode-it-${RUN_ID}`;
  try {
    // The container settings the Pulumi program uses by default: read-only root, tmpfs /tmp,
    // no-new-privileges, all capabilities dropped.
    const hardening = [
      "--read-only",
      "--tmpfs",
      "/tmp:rw,nosuid,nodev,size=64m",
      "--security-opt",
      "no-new-privileges:true",
      "--cap-drop",
      "ALL",
    ];
    await docker(["run", "-d", "--name", name, ...hardening, "-v", `${data}:/cyberdata`, "-p", "127.0.0.1::18545", first.imageId]);
    const port = (await docker(["port", name, "18545/tcp"])).split("\n")[0].split(":").pop()!;
    await waitForRpc(Number(port));
    t.deepEqual(await rpc(Number(port), "getblockcount"), { result: 0, error: null, id: 1 });
    const info = (await rpc(Number(port), "getinfo")) as { result: { uid: number; version: string } };
    t.is(info.result.uid, 1000);
    t.is(info.result.version, "1.0.0");
    t.true(existsSync(join(data, "fixnode.marker")));
    t.is(statSync(join(data, "fixnode.marker")).uid, 1000);
    t.is(
      await docker(["inspect", "--format", "{{.Config.Labels.version}}", name]),
      readFileSync(join(loaded.dir, "bin", "VERSION"), "utf8").trim(),
    );
    t.is(await docker(["run", "--rm", first.imageId, "--version"]), "fixnode 1.0.0");
  } finally {
    await dockerMaybe(["rm", "-f", "-v", name]);
    rmSync(data, { recursive: true, force: true });
  }
});

dockerTest("a failing step names image, step, command and exit code, leaves no containers and keeps bin/", async (t) => {
  const before = readFileSync(join(loaded.dir, "bin", "MANIFEST.json"), "utf8");
  const failing = {
    ...loaded,
    spec: {
      ...loaded.spec,
      build: { ...loaded.spec.build, steps: [...loaded.spec.build.steps, "echo about to fail; echo boom >&2; exit 3"] },
    },
  };
  const err = await t.throwsAsync(buildImage(failing, quiet), { instanceOf: StepFailedError });
  t.is(err!.step, 4);
  t.is(err!.exitCode, 3);
  t.regex(err!.message, /image fullnode\/fixnode-it: build step 4\/4 failed with exit code 3/);
  t.regex(err!.message, /command: echo about to fail/);
  t.regex(err!.message, /\| boom/);
  t.regex(err!.message, /build again; steps 1-3 are cached\.$/);
  t.deepEqual(await leftoverTemporaries(), []);
  t.is(readFileSync(join(loaded.dir, "bin", "MANIFEST.json"), "utf8"), before);
});

dockerTest("steps sharing one container: each is committed before the next, a later failure keeps the earlier ones cached", async (t) => {
  const withSteps = (extra: string[]) => ({
    ...loaded,
    spec: { ...loaded.spec, build: { ...loaded.spec.build, steps: [...loaded.spec.build.steps, ...extra] } },
  });
  const stepOne = `echo one-${RUN_ID} > /out/one; echo wrote one`;
  // `cat` reads the step's stdin: it must see end of input, not the builder's replies to the driver.
  const failing = withSteps([stepOne, "cat; echo read-stdin-done; exit 4"]);
  const err = await t.throwsAsync(buildImage(failing, quiet), { instanceOf: StepFailedError });
  t.is(err!.step, 5);
  t.is(err!.exitCode, 4);
  t.deepEqual(err!.lastLines, ["read-stdin-done"], "the failing step's own output only");
  const plan = await planBuild(failing, quiet);
  t.regex(await docker(["image", "inspect", "--format", "{{.Id}}", plan.steps[3].tag]), /^sha256:/, "step 4 was committed");
  t.is(await dockerMaybe(["image", "inspect", plan.steps[4].tag]), null, "the failed step was not");

  const lines: string[] = [];
  const fixed = await buildImage(withSteps([stepOne, "cat /out/one"]), { ...quiet, log: (l) => lines.push(l) });
  t.is(fixed.stepsRun, 1, "only the fixed step reruns");
  t.true(
    lines.some((l) => l.endsWith(`step 5/5] one-${RUN_ID}`)),
    lines.join("\n"),
  );
  t.false(
    lines.some((l) => l.includes("@@cybernode")),
    "the driver's markers are not shown",
  );
  t.deepEqual(await leftoverTemporaries(), []);
});

dockerTest("a version file the build does not write is a clear error", async (t) => {
  const l = fixtureSpec(NAME, (s) => {
    cold(s);
    s.build.version = { file: "/out/NO_SUCH_VERSION" };
  });
  const err = await t.throwsAsync(buildImage(l, quiet), { instanceOf: InputError });
  t.regex(err!.message, /build\.version: the version file \/out\/NO_SUCH_VERSION is absent/);
  t.deepEqual(await leftoverTemporaries(), []);
  t.false(existsSync(join(l.dir, "bin")));
  rmSync(l.dir, { recursive: true, force: true });
});

dockerTest(
  "a base image that is missing, unmapped and cannot be pulled is refused before any container runs, saying how to map it",
  async (t) => {
    // A registry on loopback that does not answer (nothing else is reachable from the tests).
    const l = fixtureSpec(NAME, (s) => (s.build.from = "127.0.0.1:9/cybernode-test/none:0.1"));
    const t0 = now();
    const err = await t.throwsAsync(buildImage(l, quiet), { instanceOf: InputError });
    t.regex(
      err!.message,
      /image fullnode\/fixnode-it: build\.from: base image '127\.0\.0\.1:9\/cybernode-test\/none:0\.1' is not on the Docker host, and docker pull 127\.0\.0\.1:9\/cybernode-test\/none:0\.1 failed: .*(refused|connect)/,
    );
    t.regex(err!.message, /map it to an image this host has: CYBERNODE_BASE_IMAGES=/);
    t.is(await containerEvents("create", t0, now()), 0);
    rmSync(l.dir, { recursive: true, force: true });
  },
);

dockerTest("artifacts with links escaping the destination are refused and bin/ is not written", async (t) => {
  const l = fixtureSpec(NAME, (s) => {
    cold(s);
    s.build.steps = ["mkdir -p /out/evil && ln -s /etc/passwd /out/evil/passwd && echo 1 > /out/VERSION"];
    s.build.artifacts = ["/out/evil"];
  });
  const err = await t.throwsAsync(buildImage(l, quiet), { instanceOf: UnsafeArchiveError });
  t.regex(err!.message, /link 'evil\/passwd' points to the absolute path '\/etc\/passwd'/);
  t.false(existsSync(join(l.dir, "bin")));
  t.deepEqual(await leftoverTemporaries(), []);
  rmSync(l.dir, { recursive: true, force: true });
});

dockerTest("a non-scratch run base contributes its layers below ours", async (t) => {
  const l = fixtureSpec("fullnode/fixnode-busybox", (s) => {
    cold(s);
    s.run.base = "busybox:stable";
  });
  const r = await buildImage(l, quiet);
  const out = await shellIn(r.imageId, "ls /cyberapp && id -u && echo $HOME && touch /cyberdata/x && echo writable");
  t.deepEqual(out.split("\n"), ["fixnode", "1000", "/cyberdata", "writable"]);
  rmSync(l.dir, { recursive: true, force: true });
});

dockerTest("shared-library bundling makes a dynamically linked binary run in scratch", async (t) => {
  const l = fixtureSpec("fullnode/ls-libs", (s) => {
    s.build.from = "debian:bookworm";
    s.build.env = {};
    s.build.caches = {};
    s.build.inputs = false;
    s.build.steps = ["mkdir -p /out && cp /bin/ls /out/ls && ls --version | head -1 > /out/VERSION"];
    s.build.artifacts = ["/out/ls"];
    s.run.entrypoint = ["/cyberapp/ls"];
    s.run.cmd = ["/"];
    s.run.bundleLibs = true;
  });
  const r = await buildImage(l, quiet);
  t.true(r.manifest.libs.includes("/lib64/ld-linux-x86-64.so.2"), r.manifest.libs.join(" "));
  t.true(r.manifest.libs.some((p) => /libc\.so\.6$/.test(p)));
  const out = await docker(["run", "--rm", r.imageId]);
  t.deepEqual(
    out
      .split("\n")
      .filter((x) => ["cyberapp", "cyberdata", "lib", "lib64", "tmp"].includes(x))
      .sort(),
    ["cyberapp", "cyberdata", "lib", "lib64", "tmp"],
  );
  rmSync(l.dir, { recursive: true, force: true });
});

dockerTest("copy mode (used for remote engines) builds the same binaries and commits no build files", async (t) => {
  const l = fixtureSpec(NAME, (s) => (s.build.env = { ...s.build.env, CYBERNODE_TEST_RUN: `${RUN_ID}-copy` }));
  const r = await buildImage(l, { ...quiet, transfer: "copy" });
  t.is(r.stepsRun, 3);
  t.is(r.imageId, first.imageId, "same binaries and run spec: same run image ID");
  const leftovers = await shellIn(r.buildTag, "ls -d /cyberbuild /cyberinputs 2>/dev/null; true");
  t.is(leftovers, "", "no /cyberbuild or /cyberinputs in the committed build image");
  t.deepEqual(await leftoverTemporaries(), []);
  rmSync(l.dir, { recursive: true, force: true });
});

dockerTest(
  "bin/ is the same whether read from the build container's archives, through the engine, or without tar in the image",
  async (t) => {
    // A file and a folder with modes (links: see the test above); Debian's tar, then none (nothing is packed).
    const spec = (tag: string, first: string) =>
      fixtureSpec(NAME, (s) => {
        s.build.from = "debian:bookworm";
        s.build.env = { CYBERNODE_TEST_RUN: `${RUN_ID}-${tag}` };
        s.build.caches = {};
        s.build.inputs = false;
        s.build.steps = [
          first,
          "mkdir -p /out/tree/sub && echo a > /out/tree/sub/a && chmod 750 /out/tree/sub/a && echo b > /out/tree/b",
          "printf '#!/bin/sh\\necho tool\\n' > /out/tool && chmod 755 /out/tool && echo 2.0 > /out/VERSION",
        ];
        s.build.artifacts = ["/out/tool", "/out/tree"];
      });
    const packed = spec("packed", "true");
    const engine = spec("engine", "true");
    const noTar = spec("no-tar", "rm /usr/bin/tar && ! command -v tar");
    try {
      const viaPacked = await buildImage(packed, quiet);
      const viaEngine = await buildImage(engine, { ...quiet, transfer: "copy" });
      const viaNoTar = await buildImage(noTar, quiet);
      t.is(viaPacked.extractedFromPacked, 3, "2 artifacts and the version file from the container's archives");
      t.is(viaEngine.extractedFromPacked, 0);
      t.is(viaNoTar.extractedFromPacked, 0, "no tar: every path through the engine");
      const files = (r: BuildResult) => r.manifest.files.map((f) => `${f.path} ${f.mode.toString(8)} ${f.size} ${f.sha256}`);
      t.deepEqual(files(viaPacked), files(viaEngine));
      t.deepEqual(files(viaNoTar), files(viaEngine));
      t.true(
        files(viaPacked).some((f) => f.startsWith("tree/sub/a 750 ")),
        files(viaPacked).join("\n"),
      );
      t.is(viaPacked.imageId, viaEngine.imageId, "same run image");
      const leftovers = await shellIn(viaPacked.buildTag, "ls -A /cyberout 2>/dev/null; true");
      t.is(leftovers, "", "the archives are not in the committed build image");
      t.deepEqual(await leftoverTemporaries(), []);
    } finally {
      for (const l of [packed, engine, noTar]) rmSync(l.dir, { recursive: true, force: true });
    }
  },
);

dockerTest("a link a step plants in /cyberout is never followed to a file of this machine", async (t) => {
  // The planted archive on the host holds a 'tool' with other bytes; the link to it is made in the container.
  const planted = join(tmpdir(), `cybernode-planted-${RUN_ID}.tar`);
  const src = mkdtempSync(join(tmpdir(), "cybernode-planted-src-"));
  writeFileSync(join(src, "tool"), "planted\n");
  execFileSync("tar", ["-cf", planted, "-C", src, "tool"]);
  const l = fixtureSpec(NAME, (s) => {
    s.build.from = "debian:bookworm";
    s.build.env = { CYBERNODE_TEST_RUN: `${RUN_ID}-planted` };
    s.build.caches = {};
    s.build.inputs = false;
    s.build.steps = [`mkdir -p /out && ln -s ${planted} /cyberout/0.tar && echo real > /out/tool && echo 1.0 > /out/VERSION`];
    s.build.artifacts = ["/out/tool"];
  });
  try {
    const r = await buildImage(l, quiet).catch((e: Error) => e);
    const tool = existsSync(join(l.dir, "bin", "tool")) ? readFileSync(join(l.dir, "bin", "tool"), "utf8") : null;
    t.not(tool, "planted\n", "bin/ never holds the host file the link pointed at");
    t.true(r instanceof Error, `the build is refused: ${r instanceof Error ? r.message : "it succeeded"}`);
    t.deepEqual(await leftoverTemporaries(), []);
  } finally {
    rmSync(planted, { force: true });
    rmSync(src, { recursive: true, force: true });
    rmSync(l.dir, { recursive: true, force: true });
  }
});
