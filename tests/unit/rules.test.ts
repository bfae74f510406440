import test from "ava";
import { sourceDateEpoch } from "../../src/builder/assemble";
import { validateStackConfig } from "../../src/stack/config";
import { DIFF_KEYS, PROVIDER_VERSION } from "../../src/provider/imageResources";
import { dataDirProvider } from "../../src/provider/dataDirOps";
import { changedKeys, stored } from "../../src/provider/storedInputs";
import { InputError } from "../../src/imageSpec/errors";
import { validateSpec } from "../../src/imageSpec/validate";
import { goodSpec } from "../helpers/specs";

// Rules the README promises that no other unit test pinned (each found by breaking it and seeing
// npm run test:unit stay green): what each image resource's diff reacts to, what state keeps of a
// secret build environment, the fixed timestamp of run images, NUL bytes in commands, a root uid.

const common = {
  image: "fullnode/btcd",
  projectDir: "/p",
  imagesRoot: "/p/images",
  baseImages: { "golang:1.26-bookworm": "local/go" },
  buildEnv: { GOPROXY: "https://user:token@proxy.example.com" },
  buildHost: "",
  providerVersion: PROVIDER_VERSION,
};
const other: Record<string, unknown> = {
  image: "fullnode/geth",
  imagesRoot: "/q/images",
  baseImages: {},
  buildEnv: { GOPROXY: "https://other" },
  buildHost: "ssh://cyber@node1",
  providerVersion: "0",
  buildHash: "h2",
  buildKey: "k2",
  extraction: "x2",
  runHash: "r2",
  binariesDigest: "d2",
  targetHost: "ssh://cyber@node2",
  promotedImageId: `sha256:${"2".repeat(64)}`,
  registry: "registry.example.com:5000",
};

/** Every input a resource must diff on, changed alone, is a change before the diff looks at the world. */
function reactsTo(t: import("ava").ExecutionContext, keys: string[], inputs: Record<string, unknown>, expected: string[]) {
  t.deepEqual([...keys].sort(), [...expected].sort(), "the diff's keys are the README's");
  const olds = stored(inputs as never);
  for (const k of expected)
    t.deepEqual(changedKeys(olds, { ...inputs, [k]: other[k] } as never, keys as never), [k], `a changed ${k} is a change`);
  t.deepEqual(changedKeys(olds, inputs as never, keys as never), [], "the same inputs are none");
}

const COMMON = ["image", "imagesRoot", "baseImages", "buildEnv", "buildHost", "providerVersion"];

test("BuildImage changes with the spec's build part, the mapping, buildEnv, the build host and the provider version", (t) => {
  reactsTo(t, DIFF_KEYS.build, { ...common, buildHash: "h" }, [...COMMON, "buildHash"]);
});

test("Binaries changes with the build it comes from and with what is extracted", (t) => {
  reactsTo(t, DIFF_KEYS.bin, { ...common, buildKey: "k", extraction: "x" }, [...COMMON, "buildKey", "extraction"]);
});

test("RunImage changes with the run spec, the binaries, the target host, a promotion and the registry", (t) => {
  const run = { ...common, runHash: "r", binariesDigest: "d", targetHost: "", promotedImageId: "", promotedFrom: "", registry: "" };
  reactsTo(t, DIFF_KEYS.run, run, [...COMMON, "runHash", "binariesDigest", "targetHost", "promotedImageId", "registry"]);
});

test("state keeps a hash of the build environment, never its values (a token in GOPROXY)", (t) => {
  const s = stored({ ...common, buildHash: "h" });
  t.false("buildEnv" in s);
  t.false(JSON.stringify(s).includes("token"));
  t.regex(s.buildEnvHash, /^[0-9a-f]{64}$/);
  t.not(stored({ ...common, buildHash: "h", buildEnv: { GOPROXY: "https://other" } }).buildEnvHash, s.buildEnvHash);
});

test("DataDir changes with its path, host, uid, SELinux label and secret files; the image it is made with is no change", async (t) => {
  const dir = { path: "/d/btcd", uid: 1000, selinux: false, host: "", secretFiles: [["rpc.conf", "x"]], image: "sha256:a" };
  for (const [k, v] of [
    ["path", "/d/other"],
    ["host", "ssh://cyber@node1"],
    ["uid", 1001],
    ["selinux", true],
    ["secretFiles", [["rpc.conf", "y"]]],
  ] as const)
    t.true((await dataDirProvider.diff?.("id", dir, { ...dir, [k]: v }))?.changes, `a changed ${k}`);
  t.deepEqual(
    (await dataDirProvider.diff?.("id", dir, { ...dir, path: "/d/other" }))?.replaces,
    ["path"],
    "another path is another folder",
  );
  t.false(
    (await dataDirProvider.diff?.("id", dir, { ...dir, image: "sha256:b" }))?.changes,
    "a new image version does not touch the data folder",
  );
});

test("run images are dated SOURCE_DATE_EPOCH, else 0, never the build's time", (t) => {
  t.is(sourceDateEpoch({}), 0);
  t.is(sourceDateEpoch({ SOURCE_DATE_EPOCH: "" }), 0);
  t.is(sourceDateEpoch({ SOURCE_DATE_EPOCH: "1700000000" }), 1700000000);
  t.throws(() => sourceDateEpoch({ SOURCE_DATE_EPOCH: "yesterday" }), { instanceOf: InputError, message: /SOURCE_DATE_EPOCH/ });
});

test("a NUL byte in a build step, the entrypoint or an arg is refused: no command line can carry it", (t) => {
  const spec = goodSpec() as { build: { steps: string[] }; run: { entrypoint: string[] }; container: { args?: string[] } };
  for (const [field, edit] of [
    ["build.steps", (s: typeof spec) => (s.build.steps = ["echo a\0b"])],
    ["run.entrypoint", (s: typeof spec) => (s.run.entrypoint = ["/cyberapp/node", "--x\0"])],
    ["container.args", (s: typeof spec) => (s.container.args = ["--a=\0"])],
  ] as const) {
    const s = goodSpec() as typeof spec;
    edit(s);
    t.throws(() => validateSpec("fullnode/node", s), { instanceOf: InputError, message: new RegExp(`${field.replace(".", "\\.")}.*NUL`) });
  }
});

test("a node uid of 0 is refused: fullnodes run as a non-root uid", (t) => {
  const ctx = { stack: "s", stackFile: "stacks/Pulumi.s.yaml", specs: new Map(), cyberUid: 1000, secretKeys: new Set<string>() };
  t.throws(() => validateStackConfig({ uid: "0" }, ctx), {
    instanceOf: InputError,
    message: /cybernode:uid: 0 is root; fullnodes run as a non-root uid/,
  });
  t.throws(() => validateStackConfig({ uid: 0 }, ctx), { message: /cybernode:uid: 0 is root/ });
});
