import test from "ava";
import { cleanPath, type LayerEntry, mergeLayers } from "../../src/archive/layerFiles";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar";
import { planRunImage, runImageLayerEntries, versionTag, type RunImageInput } from "../../src/archive/imageArchive";
import { writeTar, normalizeEntries } from "../../src/archive/tarWriter";
import { entryProblem, extractTarSafely, UnsafeArchiveError } from "../../src/archive/safeExtract";
import { validateSpec } from "../../src/imageSpec/validate";
import { goodSpec } from "../helpers/specs";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const input = (over: Partial<RunImageInput> = {}): RunImageInput => ({
  spec: validateSpec("fullnode/node", goodSpec()),
  version: "0.24.2",
  files: [
    { path: "cyberapp/node", mode: 0o755, data: Buffer.from("#binary node\n") },
    { path: "cyberapp/nodectl", mode: 0o4755, data: Buffer.from("#binary ctl\n") },
  ],
  epochSeconds: 0,
  architecture: "amd64",
  ...over,
});

/** Reads a tar buffer into [path, header] pairs. */
async function entries(buf: Buffer): Promise<{ path: string; mode: number; uid: number; gid: number; mtime: number; data: Buffer }[]> {
  const out: { path: string; mode: number; uid: number; gid: number; mtime: number; data: Buffer }[] = [];
  await new Promise<void>((resolve, reject) => {
    const p = new tar.Parser({
      onReadEntry: (e) => {
        const chunks: Buffer[] = [];
        e.on("data", (c: Buffer) => chunks.push(c));
        e.on("end", () =>
          out.push({
            path: e.path,
            mode: e.mode ?? 0,
            uid: e.uid ?? -1,
            gid: e.gid ?? -1,
            mtime: e.mtime?.getTime() ?? -1,
            data: Buffer.concat(chunks),
          }),
        );
      },
    });
    p.on("end", resolve);
    p.on("error", reject);
    p.end(buf);
  });
  return out;
}

test("two assemblies of the same inputs are byte-identical with the same image ID", (t) => {
  const a = planRunImage(input());
  const b = planRunImage(input());
  t.true(a.archive.equals(b.archive));
  t.is(a.imageId, b.imageId);
  t.is(a.imageId, `sha256:${sha(a.configBytes)}`);
  t.is(a.diffId, `sha256:${sha(a.layer)}`);
});

test("the image ID changes with the binaries, the run spec and the epoch, not with container defaults", (t) => {
  const id = planRunImage(input()).imageId;
  t.not(planRunImage(input({ files: [{ path: "cyberapp/node", mode: 0o755, data: Buffer.from("other") }] })).imageId, id);
  t.not(planRunImage(input({ epochSeconds: 1700000000 })).imageId, id);
  t.not(planRunImage(input({ version: "0.24.3" })).imageId, id);
  const s = goodSpec();
  s.container.name = "renamed";
  s.container.restart = "no";
  t.is(planRunImage(input({ spec: validateSpec("fullnode/node", s) })).imageId, id);
});

test("layer layout: sorted, fixed mtime and owners, /cyberdata owned by the run uid, no setuid bits", async (t) => {
  const plan = planRunImage(input());
  const layer = await entries(plan.layer);
  t.deepEqual(
    layer.map((e) => e.path),
    ["cyberapp/", "cyberapp/node", "cyberapp/nodectl", "cyberdata/", "tmp/"],
  );
  t.true(layer.every((e) => e.mtime === 0));
  const data = layer.find((e) => e.path === "cyberdata/")!;
  t.is(data.uid, 1000);
  t.is(data.gid, 1000);
  t.is(layer.find((e) => e.path === "cyberapp/nodectl")!.mode, 0o755);
  t.is(layer.find((e) => e.path === "tmp/")!.mode, 0o1777);
  t.true(layer.filter((e) => e.path.startsWith("cyberapp")).every((e) => e.uid === 0 && e.gid === 0));
});

test("image config carries the seed's conventions", (t) => {
  const plan = planRunImage(input());
  const cfg = JSON.parse(plan.configBytes.toString());
  t.is(cfg.config.User, "1000:1000");
  t.deepEqual(cfg.config.Entrypoint, ["/cyberapp/node", "--datadir=/cyberdata"]);
  t.deepEqual(cfg.config.Env, ["HOME=/cyberdata"]);
  t.deepEqual(cfg.config.ExposedPorts, { "8333/tcp": {}, "8334/tcp": {} });
  t.deepEqual(cfg.config.Volumes, { "/cyberdata": {} });
  t.is(cfg.config.Labels.version, "0.24.2");
  t.is(cfg.config.Labels["org.opencontainers.image.version"], "0.24.2");
  t.is(cfg.config.Labels["org.opencontainers.image.created"], "1970-01-01T00:00:00Z");
  t.is(cfg.created, "1970-01-01T00:00:00Z");
  t.deepEqual(cfg.rootfs.diff_ids, [plan.diffId]);
});

test("docker-archive has manifest.json, config and layer, named by digest", async (t) => {
  const plan = planRunImage(input());
  const files = await entries(plan.archive);
  const hex = plan.imageId.slice(7);
  t.deepEqual(
    files.map((f) => f.path).sort(),
    [`${hex}.json`, `${plan.diffId.slice(7)}/`, `${plan.diffId.slice(7)}/layer.tar`, "manifest.json"].sort(),
  );
  const manifest = JSON.parse(files.find((f) => f.path === "manifest.json")!.data.toString());
  t.deepEqual(manifest, [
    {
      Config: `${hex}.json`,
      RepoTags: ["cybernode/fullnode-node:0.24.2", "cybernode/fullnode-node:latest"],
      Layers: [`${plan.diffId.slice(7)}/layer.tar`],
    },
  ]);
});

test("overhead of the run image over the artifact bytes is small", (t) => {
  const big = Buffer.alloc(5_000_000, 7);
  const plan = planRunImage(input({ files: [{ path: "cyberapp/node", mode: 0o755, data: big }] }));
  t.true(plan.layer.length - big.length < 16 * 1024, `layer overhead ${plan.layer.length - big.length}`);
});

test("a base image's layers go below ours and its config is kept where ours does not override", (t) => {
  const baseLayer = writeTar(
    normalizeEntries([{ type: "file", path: "bin/sh", mode: 0o755, uid: 0, gid: 0, data: Buffer.from("sh") }]),
    new Date(0),
  );
  const base = {
    config: {
      architecture: "amd64",
      os: "linux",
      config: { Env: ["PATH=/bin", "HOME=/root"], Cmd: ["/bin/sh"], Labels: { vendor: "x" }, ExposedPorts: { "80/tcp": {} } },
      rootfs: { type: "layers" as const, diff_ids: [`sha256:${sha(baseLayer)}`] },
    },
    layers: [baseLayer],
  };
  const plan = planRunImage(input({ base }));
  const cfg = JSON.parse(plan.configBytes.toString());
  t.deepEqual(cfg.rootfs.diff_ids, [`sha256:${sha(baseLayer)}`, plan.diffId]);
  t.deepEqual(cfg.config.Env, ["HOME=/cyberdata", "PATH=/bin"]);
  t.is(cfg.config.Labels.vendor, "x");
  t.deepEqual(Object.keys(cfg.config.ExposedPorts), ["80/tcp", "8333/tcp", "8334/tcp"]);
  t.is(cfg.config.Cmd, null);
});

test("version tags are valid docker tags", (t) => {
  t.is(versionTag("0.24.2"), "0.24.2");
  t.is(versionTag("btcd v0.24.2 h1:abc/def="), "btcd_v0.24.2_h1_abc_def_");
  t.is(versionTag("-x"), "x");
  t.is(versionTag("").length > 0, true);
});

test("layer entries reject paths that escape", (t) => {
  t.throws(() => runImageLayerEntries(1000, [{ path: "../etc/passwd", mode: 0o644, data: Buffer.alloc(0) }]));
  t.throws(() => runImageLayerEntries(1000, [{ path: "/etc/passwd", mode: 0o644, data: Buffer.alloc(0) }]));
});

// ---- extraction safety

test("entryProblem refuses escapes and special files, accepts ordinary entries", (t) => {
  t.is(entryProblem({ path: "node", type: "File" }), null);
  t.is(entryProblem({ path: "dir/", type: "Directory" }), null);
  t.is(entryProblem({ path: "dir/link", type: "SymbolicLink", linkpath: "../node" }), null);
  t.regex(entryProblem({ path: "/etc/passwd", type: "File" })!, /absolute/);
  t.regex(entryProblem({ path: "../x", type: "File" })!, /\.\./);
  t.regex(entryProblem({ path: "a/../../x", type: "File" })!, /\.\./);
  t.regex(entryProblem({ path: "link", type: "SymbolicLink", linkpath: "/etc/passwd" })!, /outside/);
  t.regex(entryProblem({ path: "d/link", type: "SymbolicLink", linkpath: "../../etc" })!, /outside/);
  t.regex(entryProblem({ path: "hard", type: "Link", linkpath: "../x" })!, /outside/);
  t.regex(entryProblem({ path: "dev", type: "CharacterDevice" })!, /only files/);
  t.regex(entryProblem({ path: "fifo", type: "FIFO" })!, /only files/);
});

/** A tar with raw headers, as a hostile build could produce (our writer does not sanitise). */
function hostileTar(path: string, type: "file" | "symlink", linkpath = ""): Buffer {
  return type === "file"
    ? writeTar([{ type: "file", path, mode: 0o644, uid: 0, gid: 0, data: Buffer.from("x") }], new Date(0))
    : writeTar([{ type: "symlink", path, mode: 0o777, uid: 0, gid: 0, linkpath }], new Date(0));
}

for (const [what, buf] of [
  ["dot-dot path", hostileTar("../escape", "file")],
  ["absolute path", hostileTar("/tmp/escape-abs", "file")],
  ["symlink out", hostileTar("evil", "symlink", "/etc/passwd")],
  ["relative symlink out", hostileTar("evil", "symlink", "../../etc/passwd")],
] as const) {
  test(`extraction refuses a tar with a ${what}`, async (t) => {
    const root = mkdtempSync(join(tmpdir(), "cybernode-test-"));
    const dest = join(root, "dest");
    rmSync(dest, { force: true, recursive: true });
    mkdirSync(dest);
    const err = await t.throwsAsync(extractTarSafely(Readable.from([buf]), dest, "test"), { instanceOf: UnsafeArchiveError });
    t.regex(err!.message, /refused to extract test/);
    t.deepEqual(readdirSync(dest), []);
    t.deepEqual(readdirSync(root), ["dest"]);
    rmSync(root, { recursive: true, force: true });
  });
}

test("extraction strips setuid bits and keeps ordinary files", async (t) => {
  const dest = mkdtempSync(join(tmpdir(), "cybernode-test-"));
  const buf = writeTar([{ type: "file", path: "su", mode: 0o4755, uid: 0, gid: 0, data: Buffer.from("x") }], new Date(0));
  const notes = await extractTarSafely(Readable.from([buf]), dest, "test");
  t.is(statSync(join(dest, "su")).mode & 0o7777, 0o755);
  t.regex(notes[0], /stripped setuid/);
  rmSync(dest, { recursive: true, force: true });
});

test("health checks: written into the config only when a spec has one, so other specs keep their image IDs", (t) => {
  const spec = (health?: unknown) =>
    validateSpec("fullnode/node", {
      build: { from: "golang:1.26-bookworm", steps: ["true"], artifacts: ["/out/node"], version: { file: "/out/VERSION" } },
      run: { entrypoint: ["/cyberapp/node"], ports: [8333], ...(health ? { health } : {}) },
      container: { name: "node" },
    });
  const files = [{ path: "cyberapp/node", mode: 0o755, data: Buffer.from("binary") }];
  const plan = (s: ReturnType<typeof spec>) => planRunImage({ spec: s, version: "1.0.0", files, epochSeconds: 0, architecture: "amd64" });
  const without = plan(spec());
  // The ID this spec had before health checks existed (commit a5a7746, measured with that code).
  t.is(without.imageId, "sha256:078a28ce67dac721e0c09bfa4e14c388551967eae64bdb7717eed970a261a90f");
  t.false(without.configBytes.toString().includes("Healthcheck"));
  const withHealth = plan(spec({ command: ["/cyberapp/node", "--ping"], interval: 30, timeout: 5, retries: 2, startPeriod: 120 }));
  const config = JSON.parse(withHealth.configBytes.toString()).config;
  t.deepEqual(config.Healthcheck, {
    Test: ["CMD", "/cyberapp/node", "--ping"],
    Interval: 30e9,
    Timeout: 5e9,
    StartPeriod: 120e9,
    Retries: 2,
  });
  t.not(withHealth.imageId, without.imageId);
  t.is(
    plan(spec({ command: ["/cyberapp/node", "--ping"], interval: 30, timeout: 5, retries: 2, startPeriod: 120 })).imageId,
    withHealth.imageId,
    "deterministic",
  );
});

test("an image's files from its layers: upper layers replace entries, whiteouts remove a path and what is below it, an opaque folder drops only lower layers' entries", (t) => {
  const e = (path: string, size = 0, type = "File"): LayerEntry => ({ path, mode: 0o644, uid: 0, gid: 0, size, mtime: new Date(0), type });
  const dir = (path: string) => e(path, 0, "Directory");
  const base = [
    dir("./"),
    dir("etc/"),
    e("etc/passwd", 10),
    e("etc/motd", 5),
    dir("usr/"),
    dir("usr/share/"),
    e("usr/share/a"),
    dir("var/"),
    e("var/old"),
  ];
  const upper = [
    e("./etc/passwd", 20),
    e("usr/.wh.share"),
    e("var/.wh..wh..opq"),
    e("var/new"),
    dir("/usr/share/"), // recreated after its whiteout in the same layer
    e("usr/share/b"),
  ];
  const merged = mergeLayers([base, upper]);
  t.deepEqual(
    merged.map((x) => `${x.path}${x.type === "Directory" ? "/" : ""}:${x.size}`),
    ["etc/:0", "etc/motd:5", "etc/passwd:20", "usr/:0", "usr/share/:0", "usr/share/b:0", "var/:0", "var/new:0"],
  );
  t.deepEqual(
    mergeLayers([base, [e(".wh.etc")]]).map((x) => x.path),
    ["usr", "usr/share", "usr/share/a", "var", "var/old"],
    "a whiteout at the root removes the folder and everything in it",
  );
  t.is(cleanPath("./a/b/"), "a/b");
});
