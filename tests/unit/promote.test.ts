import test from "ava";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileBackendDir, promotionPlan, readStackOutputs } from "../../src/stack/promotion";
import { runCli } from "../helpers/cli";
import { goodSpec } from "../helpers/specs";

const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;

/** Writes a stack checkpoint as Pulumi's file backend does (.pulumi/stacks/<project>/<stack>.json). */
function writeState(dir: string, stack: string, outputs: Record<string, unknown>): void {
  const folder = join(dir, ".pulumi", "stacks", "cybernode");
  mkdirSync(folder, { recursive: true });
  const checkpoint = {
    version: 3,
    checkpoint: {
      stack: `organization/cybernode/${stack}`,
      latest: {
        resources: [
          {
            urn: `urn:pulumi:${stack}::cybernode::pulumi:pulumi:Stack::cybernode-${stack}`,
            custom: false,
            type: "pulumi:pulumi:Stack",
            outputs,
          },
        ],
      },
    },
  };
  writeFileSync(join(folder, `${stack}.json`), JSON.stringify(checkpoint));
}

test("promotion plan: unchanged, update, add and images only on the target", (t) => {
  const rows = promotionPlan(
    { "fullnode/btcd": { imageId: A, version: "v2" }, "fullnode/fixnode": { imageId: B }, "fullnode/new": { imageId: A } },
    { "fullnode/btcd": { imageId: B, version: "v1" }, "fullnode/fixnode": { imageId: B }, "fullnode/old": { imageId: A } },
  );
  t.deepEqual(
    rows.map((r) => [r.image, r.action]),
    [
      ["fullnode/btcd", "update"],
      ["fullnode/fixnode", "unchanged"],
      ["fullnode/new", "add"],
      ["fullnode/old", "remove"],
    ],
  );
});

test("promotion compares image IDs, not versions: a rebuild under the same version label is an update", (t) => {
  const v = "btcd v0.26.2 h1:abc";
  const [row] = promotionPlan(
    { "fullnode/btcd": { imageId: `sha256:${"1".repeat(64)}`, version: v } },
    {
      "fullnode/btcd": { imageId: `sha256:${"2".repeat(64)}`, version: v },
    },
  );
  t.is(row.action, "update", "same version, other binaries or run spec");
  const [same] = promotionPlan(
    { "fullnode/btcd": { imageId: `sha256:${"1".repeat(64)}`, version: v } },
    {
      "fullnode/btcd": { imageId: `sha256:${"1".repeat(64)}`, version: "relabelled" },
    },
  );
  t.is(same.action, "unchanged", "the same image ID is the same image");
});

test("file backend folder: PULUMI_BACKEND_URL, then Pulumi.yaml, then .pulumi-state", (t) => {
  const project = join(__dirname, "../..");
  t.is(fileBackendDir(project, {}), join(project, ".pulumi-state"));
  t.is(fileBackendDir(project, { PULUMI_BACKEND_URL: "file:///srv/state" }), "/srv/state");
  t.throws(() => fileBackendDir(project, { PULUMI_BACKEND_URL: "s3://bucket" }), { message: /not a file:\/\/ backend/ });
});

test("reads a stack's outputs from the file backend; null for a stack without state", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "cybernode-state-"));
  writeState(dir, "staging", { images: { "fullnode/btcd": { imageId: A } } });
  t.deepEqual(readStackOutputs(dir, "cybernode", "staging"), { images: { "fullnode/btcd": { imageId: A } } });
  t.is(readStackOutputs(dir, "cybernode", "nope"), null);
  rmSync(dir, { recursive: true, force: true });
});

test("npx cybernode promote shows what would change on the target, image by image", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "cybernode-state-"));
  writeState(dir, "staging", { images: { "fullnode/btcd": { imageId: A, version: "btcd v0.26.2" } } });
  writeState(dir, "prod", { images: { "fullnode/btcd": { imageId: B, version: "btcd v0.24.2" } } });
  const r = await runCli(["promote", "staging", "prod", "--state", dir]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /fullnode\/btcd\s+update\s+sha256:bbbbbbbbbbb\S* btcd v0\.24\.2 -> sha256:aaaaaaaaaaa\S* btcd v0\.26\.2/);
  t.regex(r.stdout, /1 image\(s\) would change on prod/);
  t.regex(r.stdout, /npx pulumi up --stack prod/);
  rmSync(dir, { recursive: true, force: true });
});

test("promote refuses: same stack twice, a source without state, a source without images", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "cybernode-state-"));
  writeState(dir, "empty", { host: "unix:///var/run/docker.sock" });
  t.is((await runCli(["promote", "prod", "prod", "--state", dir])).code, 2);
  const missing = await runCli(["promote", "nosuch", "prod", "--state", dir]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /stack nosuch has no state .*npx pulumi up --stack nosuch/);
  const empty = await runCli(["promote", "empty", "prod", "--state", dir]);
  t.is(empty.code, 1);
  t.regex(empty.stderr, /stack empty exports no images/);
  rmSync(dir, { recursive: true, force: true });
});

test("promote refuses a target without a stack file or a name that is not a stack, and reads promoteFrom as YAML", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "cybernode-state-"));
  writeState(dir, "staging", { images: { "fullnode/btcd": { imageId: A, version: "btcd v0.26.2" } } });
  const nosuch = await runCli(["promote", "staging", "nosuch", "--state", dir]);
  t.is(nosuch.code, 1);
  t.regex(nosuch.stderr, /stack nosuch has no stack file stacks\/Pulumi\.nosuch\.yaml; create it/);
  t.is((await runCli(["promote", "staging", "../etc/passwd", "--state", dir])).code, 2);

  // A project of its own: a commented line is not a setting, a quoted value is one.
  const project = mkdtempSync(join(tmpdir(), "cybernode-promote-"));
  mkdirSync(join(project, "stacks"));
  mkdirSync(join(project, "images")); // a project's spec folder, empty here
  const target = join(project, "stacks/Pulumi.prod.yaml");
  writeFileSync(target, "config:\n  cybernode:host: unix:///var/run/docker.sock\n  # later: cybernode:promoteFrom: staging\n");
  const commented = await runCli(["promote", "staging", "prod", "--state", dir], {}, undefined, project);
  t.is(commented.code, 0, commented.stderr);
  t.regex(commented.stdout, /note: stacks\/Pulumi\.prod\.yaml does not set cybernode:promoteFrom: staging/);
  writeFileSync(target, 'config:\n  cybernode:promoteFrom: "staging"\n');
  const quoted = await runCli(["promote", "staging", "prod", "--state", dir], {}, undefined, project);
  t.regex(quoted.stdout, /^next: npx pulumi preview --stack prod/m);
  rmSync(project, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

test("promote lists only the images the target's nodes use; the source's others are named as left out", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "cybernode-state-"));
  writeState(dir, "staging", {
    images: { "fullnode/btcd": { imageId: A, version: "btcd v0.26.2" }, "fullnode/fixnode": { imageId: B, version: "1.0.0" } },
  });
  // The project's stacks/Pulumi.prod.yaml runs btcd only.
  const r = await runCli(["promote", "staging", "prod", "--state", dir]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /fullnode\/btcd\s+add/);
  t.notRegex(r.stdout, /fullnode\/fixnode\s+add/);
  t.regex(r.stdout, /^1 image\(s\) would change on prod\.$/m);
  t.regex(r.stdout, /^not used by prod's nodes \(left out\): fullnode\/fixnode$/m);
  rmSync(dir, { recursive: true, force: true });
});

test("promote reads the target as pulumi up does: a disabled node's image is left out", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "cybernode-state-"));
  writeState(dir, "staging", {
    images: { "fullnode/mini": { imageId: A, version: "1" }, "fullnode/other": { imageId: B, version: "2" } },
  });
  const project = mkdtempSync(join(tmpdir(), "cybernode-promote-"));
  mkdirSync(join(project, "stacks"));
  mkdirSync(join(project, "images/fullnode"), { recursive: true });
  writeFileSync(join(project, "images/fullnode/mini.ts"), `export default ${JSON.stringify(goodSpec())};\n`);
  writeFileSync(
    join(project, "stacks/Pulumi.prod.yaml"),
    "config:\n  cybernode:uid: 1000\n  cybernode:nodes:\n    a: { image: fullnode/mini }\n    b: { image: fullnode/other, enabled: false }\n",
  );
  const r = await runCli(["promote", "staging", "prod", "--state", dir], {}, undefined, project);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /fullnode\/mini\s+add/);
  t.regex(r.stdout, /^not used by prod's nodes \(left out\): fullnode\/other$/m, "b is disabled: up does not run it");
  writeFileSync(join(project, "stacks/Pulumi.prod.yaml"), "config:\n  cybernode:nodes:\n    a: { image: fullnode/nope }\n");
  const bad = await runCli(["promote", "staging", "prod", "--state", dir], {}, undefined, project);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /cybernode:nodes\.a\.image: unknown image spec "fullnode\/nope"/, "a stack file up would refuse is refused here too");
  rmSync(project, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});
