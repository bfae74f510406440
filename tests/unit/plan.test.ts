import test from "ava";
import { firstMissingStep, planSteps, versionFile, VERSION_COMMAND_FILE } from "../../src/builder/stepKeys";
import { validateSpec } from "../../src/imageSpec/validate";
import { parseLdd } from "../../src/builder/ldd";
import { baseImageMapFromEnv, mappingFor, parseBaseImageMap } from "../../src/builder/baseImages";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../src/imageSpec/errors";
import { goodSpec, withChange } from "../helpers/specs";

const BASE = `sha256:${"a".repeat(64)}`;
const plan = (raw: unknown, extra: Partial<{ base: string; inputs: string; pass: [string, string][] }> = {}) =>
  planSteps({
    spec: validateSpec("fullnode/node", raw),
    baseImageId: extra.base ?? BASE,
    inputsDigest: extra.inputs ?? "",
    passEnv: extra.pass ?? [],
  });

test("step keys are stable for the same spec", (t) => {
  t.deepEqual(plan(goodSpec()), plan(goodSpec()));
  t.is(plan(goodSpec())[0].tag, `cybernode-step/fullnode-node:${plan(goodSpec())[0].key}`);
});

test("changing the last step changes only the last key", (t) => {
  const a = plan(goodSpec());
  const b = plan(withChange((s) => (s.build.steps[1] += " -v")));
  t.is(a[0].key, b[0].key);
  t.not(a[1].key, b[1].key);
});

test("changing the first step changes every key after it", (t) => {
  const a = plan(goodSpec());
  const b = plan(withChange((s) => (s.build.steps[0] = "mkdir -p /out /tmp/x")));
  t.not(a[0].key, b[0].key);
  t.not(a[1].key, b[1].key);
});

test("base image, env, inputs, caches and passed-through env are part of every key", (t) => {
  const a = plan(goodSpec())[0].key;
  t.not(plan(goodSpec(), { base: `sha256:${"b".repeat(64)}` })[0].key, a);
  t.not(plan(withChange((s) => (s.build.env = { CGO_ENABLED: "1" })))[0].key, a);
  t.not(plan(goodSpec(), { inputs: "abc" })[0].key, a);
  t.not(plan(withChange((s) => (s.build.caches = { "/root/.cache/go-build": "other" })))[0].key, a);
  t.not(plan(goodSpec(), { pass: [["GOPROXY", "http://mirror"]] })[0].key, a);
  t.not(plan(withChange((s) => (s.build.workdir = "/src")))[0].key, a);
});

test("run spec and container defaults do not touch build keys", (t) => {
  const a = plan(goodSpec());
  const b = plan(
    withChange((s) => {
      s.run.ports = [8333, 8334, 9999];
      s.container.name = "other";
      s.run.uid = 2000;
    }),
  );
  t.deepEqual(a, b);
});

test("a version command becomes the last step", (t) => {
  const steps = plan(withChange((s) => (s.build.version = { command: "/out/node --version" })));
  t.is(steps.length, 3);
  t.true(steps[2].command.includes(VERSION_COMMAND_FILE));
  t.is(
    versionFile(
      validateSpec(
        "fullnode/node",
        withChange((s) => (s.build.version = { command: "x" })),
      ),
    ),
    VERSION_COMMAND_FILE,
  );
});

test("firstMissingStep finds how far the cache reaches", (t) => {
  const steps = plan(goodSpec());
  t.is(firstMissingStep(steps, new Set()), 0);
  t.is(firstMissingStep(steps, new Set([steps[0].tag])), 1);
  t.is(firstMissingStep(steps, new Set(steps.map((s) => s.tag))), 2);
  t.is(firstMissingStep(steps, new Set([steps[1].tag])), 0);
});

test("ldd output: glibc libraries, loader, vdso and static binaries", (t) => {
  const out = `\tlinux-vdso.so.1 (0x00007ffc1b9f3000)
\tlibselinux.so.1 => /lib/x86_64-linux-gnu/libselinux.so.1 (0x00007f2f9e0b0000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f2f9decf000)
\tlibpcre2-8.so.0 => /lib/x86_64-linux-gnu/libpcre2-8.so.0 (0x00007f2f9de35000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f2f9e115000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f2f9decf000)
\tnot a dynamic executable`;
  const r = parseLdd(out);
  t.deepEqual(r.paths, [
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/lib/x86_64-linux-gnu/libpcre2-8.so.0",
    "/lib/x86_64-linux-gnu/libselinux.so.1",
    "/lib64/ld-linux-x86-64.so.2",
  ]);
  t.true(r.static);
  t.deepEqual(parseLdd("\tlibfoo.so.2 => not found\n").missing, ["libfoo.so.2"]);
});

test("base image mapping parses from=to pairs and rejects malformed ones", (t) => {
  const m = parseBaseImageMap("golang:1.26-bookworm=local/go:1, debian:bookworm=local/debian");
  t.is(m.get("golang:1.26-bookworm"), "local/go:1");
  t.is(m.get("debian:bookworm"), "local/debian");
  t.is(parseBaseImageMap("").size, 0);
  t.throws(() => parseBaseImageMap("golang"), { instanceOf: InputError, message: /from=to/ });
  t.throws(() => parseBaseImageMap("golang="), { instanceOf: InputError });
});

test("base-image mapping: machine file, then the project's file, then CYBERNODE_BASE_IMAGES; each entry over the one before", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "cybernode-basemap-"));
  const machineFile = join(dir, "machine.json");
  writeFileSync(
    machineFile,
    JSON.stringify({ "golang:1.26-bookworm": "machine/go", "debian:bookworm": "machine/debian", "busybox:stable": "machine/bb" }),
  );
  mkdirSync(join(dir, "project"));
  writeFileSync(join(dir, "project", "cybernode.base-images.json"), JSON.stringify({ "debian:bookworm": "project/debian" }));
  const map = baseImageMapFromEnv({ CYBERNODE_BASE_IMAGES: "busybox:stable=env/bb" }, { projectDir: join(dir, "project"), machineFile });
  t.deepEqual(Object.fromEntries(map), {
    "golang:1.26-bookworm": "machine/go",
    "debian:bookworm": "project/debian",
    "busybox:stable": "env/bb",
  });
  t.is(baseImageMapFromEnv({}, { projectDir: dir, machineFile: join(dir, "none.json") }).size, 0, "no file, no variable: no mapping");
  writeFileSync(machineFile, "{ not json");
  t.throws(() => baseImageMapFromEnv({}, { projectDir: dir, machineFile }), {
    instanceOf: InputError,
    message: /machine\.json.*not valid JSON/s,
  });
  writeFileSync(machineFile, JSON.stringify({ "golang:1.26-bookworm": "" }));
  t.throws(() => baseImageMapFromEnv({}, { projectDir: dir, machineFile }), {
    message: /"golang:1.26-bookworm" must map to an image name/,
  });
});

test("a stack's images get only the mapping entries of their own bases", (t) => {
  const map = { "golang:1.26-bookworm": "local/go", "debian:bookworm": "local/debian", "busybox:stable": "local/bb" };
  t.deepEqual(mappingFor(["golang:1.26-bookworm", "scratch"], map), { "golang:1.26-bookworm": "local/go" });
  t.deepEqual(mappingFor(["golang:1.26-bookworm", "debian:bookworm"], map), {
    "golang:1.26-bookworm": "local/go",
    "debian:bookworm": "local/debian",
  });
  t.deepEqual(mappingFor(["alpine:3"], map), {});
});
