import test from "ava";
import { existsSync, mkdirSync, mkdtempSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ResolvedBase } from "../../src/builder/baseImages";
import { binMatchesManifest, currentManifest, describeFiles, MANIFEST_FILE, readManifest, VERIFIED_FILE } from "../../src/builder/manifest";
import { extractionHash, stepsPart } from "../../src/builder/stepKeys";
import { stableJson } from "../../src/common/hash";
import { planBuild } from "../../src/builder/planner";
import type { LoadedSpec } from "../../src/imageSpec/load";
import { validateSpec } from "../../src/imageSpec/validate";
import { cachedRunImage, rememberRunImage, runImageKey } from "../../src/builder/runImageCache";
import { goodSpec, withChange } from "../helpers/specs";

// What previews compare (the planned build key, bin/ being current) without Docker: the base-image
// lookup is answered from the planner's own cache, as a preview's second image would be.

const base = (id: string): Map<string, Promise<ResolvedBase>> =>
  new Map([["local/golang", Promise.resolve({ requested: "golang:1.26-bookworm", local: "local/golang", id })]]);
const BASE_A = `sha256:${"a".repeat(64)}`;
const BASE_B = `sha256:${"b".repeat(64)}`;

function loaded(inputs: Record<string, string> = {}): LoadedSpec {
  const dir = mkdtempSync(join(tmpdir(), "cybernode-planner-"));
  for (const [f, text] of Object.entries(inputs)) writeFileSync(join(dir, f), text);
  const spec = validateSpec("fullnode/node", { ...goodSpec(), build: { ...goodSpec().build, passEnv: ["GOPROXY"] } });
  return { spec, file: "(test)", dir };
}
/** A bin/ manifest of the files now in `bin` (one artifact, no libraries). */
const manifestOf = (bin: string, o: { version: string; buildKey: string; extraction: string }) => ({
  image: "fullnode/node",
  ...o,
  files: describeFiles(bin),
  artifacts: ["node"],
  libs: [] as string[],
});
const plan = (l: LoadedSpec, id = BASE_A, env: NodeJS.ProcessEnv = {}) =>
  planBuild(l, { baseMap: new Map([["golang:1.26-bookworm", "local/golang"]]), env, resolvedBases: base(id) });

test("the build key is the same for the same base, spec, inputs and passed-through values", async (t) => {
  const l = loaded({ "main.go": "package main" });
  t.is((await plan(l)).buildKey, (await plan(l)).buildKey);
  t.is((await plan(l)).buildTag, `cybernode-step/fullnode-node:${(await plan(l)).buildKey}`);
});

test("a re-pulled base image (new ID under the same name) changes every step key", async (t) => {
  const l = loaded();
  const [a, b] = [await plan(l, BASE_A), await plan(l, BASE_B)];
  t.is(a.base.id, BASE_A);
  for (const [i, s] of a.steps.entries()) t.not(s.key, b.steps[i].key, `step ${i + 1}`);
});

test("a changed passed-through value changes the key; variables the spec does not pass do not", async (t) => {
  const l = loaded();
  const a = await plan(l, BASE_A, { GOPROXY: "https://a.example" });
  t.not(a.buildKey, (await plan(l, BASE_A, { GOPROXY: "https://b.example" })).buildKey);
  t.is(a.buildKey, (await plan(l, BASE_A, { GOPROXY: "https://a.example", UNRELATED: "x" })).buildKey);
  t.deepEqual(a.passEnv, [["GOPROXY", "https://a.example"]]);
});

test("an edited input file changes the key", async (t) => {
  const l = loaded({ "main.go": "package main" });
  const before = (await plan(l)).buildKey;
  writeFileSync(join(l.dir, "main.go"), "package main // edited");
  t.not((await plan(l)).buildKey, before);
});

test("bin/ is current only while its files match the manifest", (t) => {
  const bin = mkdtempSync(join(tmpdir(), "cybernode-bin-"));
  mkdirSync(join(bin, "libs"));
  writeFileSync(join(bin, "node"), "binary");
  writeFileSync(join(bin, "libs", "libc.so.6"), "lib");
  const manifest = manifestOf(bin, { version: "1.0", buildKey: "k1", extraction: "e1" });
  writeFileSync(join(bin, MANIFEST_FILE), JSON.stringify(manifest));
  const read = readManifest(bin);
  t.is(read?.buildKey, "k1");
  t.true(binMatchesManifest(bin, manifest));
  writeFileSync(join(bin, "node"), "binary, edited");
  t.false(binMatchesManifest(bin, manifest), "an edited binary");
  t.is(readManifest(join(bin, "missing")), null);
});

test("what extraction takes (artifact paths, version file, bundled libraries) is hashed apart from the steps", (t) => {
  const hash = (change: Parameters<typeof withChange>[0]) => extractionHash(validateSpec("fullnode/node", withChange(change)));
  const same = hash(() => {});
  t.regex(same, /^[0-9a-f]{64}$/);
  t.is(
    hash((s) => (s.build.steps = ["true"])),
    same,
    "steps are the build key's part",
  );
  t.not(
    hash((s) => (s.build.artifacts = ["/out/node", "/out/cli"])),
    same,
    "another artifact",
  );
  t.not(
    hash((s) => (s.build.artifacts = ["/opt/node"])),
    same,
    "another path, same name",
  );
  t.not(
    hash((s) => (s.build.version = { file: "/out/VERSION.txt" })),
    same,
    "another version file",
  );
  t.not(
    hash((s) => (s.run.bundleLibs = true)),
    same,
    "bundled libraries",
  );

  // What BuildImage's buildHash covers is the other side: the steps, not what extraction takes.
  const part = (change: Parameters<typeof withChange>[0]) => stableJson(stepsPart(validateSpec("fullnode/node", withChange(change))));
  const base = part(() => {});
  t.is(
    part((s) => (s.build.artifacts = ["/out/node", "/out/cli"])),
    base,
    "artifacts: extraction only",
  );
  t.is(
    part((s) => (s.build.version = { file: "/out/VERSION.txt" })),
    base,
    "a version file: extraction only",
  );
  t.not(
    part((s) => (s.build.version = { command: "/out/node --version" })),
    base,
    "a version command is a step",
  );
  t.not(
    part((s) => (s.build.steps = ["true"])),
    base,
  );
  t.not(
    part((s) => (s.build.env = { A: "1" })),
    base,
  );
});

test("bin/ is current only for the same build key and the same extraction", (t) => {
  const bin = mkdtempSync(join(tmpdir(), "cybernode-bin-"));
  writeFileSync(join(bin, "node"), "binary");
  const manifest = manifestOf(bin, { version: "1", buildKey: "k1", extraction: "e1" });
  writeFileSync(join(bin, MANIFEST_FILE), JSON.stringify(manifest));
  t.deepEqual(currentManifest(bin, "k1", "e1"), manifest);
  t.is(currentManifest(bin, "k2", "e1"), null, "another build");
  t.is(currentManifest(bin, "k1", "e2"), null, "another artifact list");
  const { extraction: _, ...older } = manifest;
  writeFileSync(join(bin, MANIFEST_FILE), JSON.stringify(older));
  t.is(currentManifest(bin, "k1", "e1"), null, "a manifest written before extractions were recorded is extracted again once");
});

test("bin/ verification is remembered by stat signature, and any write since is still caught", (t) => {
  const bin = mkdtempSync(join(tmpdir(), "cybernode-bin-"));
  writeFileSync(join(bin, "node"), "binary v1");
  const m = manifestOf(bin, { version: "1", buildKey: "k", extraction: "e" });
  t.false(existsSync(join(bin, VERIFIED_FILE)));
  t.true(binMatchesManifest(bin, m), "hashed once");
  t.true(existsSync(join(bin, VERIFIED_FILE)), "the signatures are remembered");
  t.true(binMatchesManifest(bin, m), "unchanged: from the signatures");
  t.deepEqual(describeFiles(bin), m.files, "the remembered file is not part of bin/'s listing");
  // Same size, and the modification time put back: the bytes are read again (ctime moved) and differ.
  const st = statSync(join(bin, "node"));
  writeFileSync(join(bin, "node"), "binary v2");
  utimesSync(join(bin, "node"), st.atime, st.mtime);
  t.false(binMatchesManifest(bin, m));
  writeFileSync(join(bin, "node"), "binary v1");
  t.true(binMatchesManifest(bin, m), "back to the manifest's bytes");
  writeFileSync(join(bin, "extra"), "x");
  t.false(binMatchesManifest(bin, m), "a file the manifest does not list");
});

test("the remembered run image ID is reused only for the same files, version, run spec, epoch and architecture", (t) => {
  const spec = validateSpec("fullnode/node", goodSpec());
  const bin = mkdtempSync(join(tmpdir(), "cybernode-bin-"));
  writeFileSync(join(bin, "node"), "binary");
  const m = manifestOf(bin, { version: "1", buildKey: "k", extraction: "e" });
  const key = runImageKey(spec, m, 0, "amd64") as string;
  t.regex(key, /^[0-9a-f]{64}$/);
  t.is(runImageKey(spec, { ...m, buildKey: "other steps, same binaries" }, 0, "amd64"), key, "identical binaries keep the ID");
  for (const other of [
    runImageKey(spec, { ...m, version: "2" }, 0, "amd64"),
    runImageKey(spec, { ...m, files: [{ ...m.files[0], sha256: "0".repeat(64) }] }, 0, "amd64"),
    runImageKey(spec, { ...m, libs: ["/lib/x.so"] }, 0, "amd64"),
    runImageKey(
      validateSpec(
        "fullnode/node",
        withChange((s) => (s.run.ports = [8333, 8334, 8335])),
      ),
      m,
      0,
      "amd64",
    ),
    runImageKey(spec, m, 1700000000, "amd64"),
    runImageKey(spec, m, 0, "arm64"),
  ])
    t.not(other, key);
  t.is(
    runImageKey(
      validateSpec(
        "fullnode/node",
        withChange((s) => (s.run.base = "busybox:stable")),
      ),
      m,
      0,
      "amd64",
    ),
    null,
    "a base's layers are not in the key",
  );
  t.is(cachedRunImage(bin, key), null);
  rememberRunImage(bin, key, `sha256:${"a".repeat(64)}`, ["cybernode/fullnode-node:1", "cybernode/fullnode-node:latest"]);
  t.deepEqual(cachedRunImage(bin, key), {
    imageId: `sha256:${"a".repeat(64)}`,
    tags: ["cybernode/fullnode-node:1", "cybernode/fullnode-node:latest"],
  });
  t.is(cachedRunImage(bin, "another key"), null);
  t.deepEqual(describeFiles(bin), m.files, "not one of bin/'s files");
  t.true(binMatchesManifest(bin, m));
});
