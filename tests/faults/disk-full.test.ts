import test from "ava";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage } from "../../src/builder/builder";
import { InputError } from "../../src/imageSpec/errors";
import type { LoadedSpec } from "../../src/imageSpec/load";
import { dockerTest } from "../helpers/dockerTest";
import { fixtureSpec, removeTestImages, requireDocker, testBaseMap } from "../helpers/docker";
import { binState, bytesLost, faultImage, partialFolders, snapshot, temporariesOf } from "../helpers/faults";

// Fault: the disk holding the image's folder fills up during extraction. The old bin/ stays until the
// new one is complete, so a 10 MB filesystem fits one ~6 MB fixture binary but not two: the second
// extraction must fail clearly (ENOSPC) and leave the previous bin/ exactly as it was.

const IMAGE = faultImage("full");
const source = fixtureSpec(IMAGE);
const mountpoint = mkdtempSync(join(tmpdir(), "cybernode-fault-full-"));
const quiet = { baseMap: testBaseMap(), log: () => {} };
let mounted = false;

const sh = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr || r.error}`);
};

test.before(async () => {
  if (process.env.CYBERNODE_SKIP_DOCKER === "1") return;
  await requireDocker();
});

test.after.always(async () => {
  if (mounted) spawnSync("umount", [mountpoint]);
  rmSync(mountpoint, { recursive: true, force: true });
  rmSync(source.dir, { recursive: true, force: true });
  if (process.env.CYBERNODE_SKIP_DOCKER !== "1") await removeTestImages(IMAGE);
});

/** The fixture with another version baked in: a different binary, so a new extraction. */
const version = (l: LoadedSpec, v: string): LoadedSpec => ({
  ...l,
  spec: {
    ...l.spec,
    build: { ...l.spec.build, steps: l.spec.build.steps.map((s) => s.replace("main.version=1.0.0", `main.version=${v}`)) },
  },
});

dockerTest("extraction on a full disk fails with ENOSPC and keeps the previous bin/ intact", async (t) => {
  sh("mount", ["-t", "tmpfs", "-o", "size=10m", "tmpfs", mountpoint]);
  mounted = true;
  // The image's folder (inputs + bin/) lives on the small filesystem.
  cpSync(source.dir, mountpoint, { recursive: true });
  const loaded: LoadedSpec = { ...source, dir: mountpoint };

  const first = await buildImage(loaded, quiet);
  t.true(first.extracted);
  const binary = statSync(join(first.binDir, "fixnode")).size;
  const before = binState(first.binDir);
  const files = snapshot(first.binDir);
  t.true(before.intact);

  const err = await t.throwsAsync(buildImage(version(loaded, "1.0.1"), quiet));
  const message = err?.message ?? "";
  t.regex(message, /ENOSPC|no space left on device/i, "the error says the disk is full");
  t.false(err instanceof InputError, "a full disk is not blamed on the spec");
  t.true(message.includes(mountpoint), "the error names the folder being written");

  const after = binState(first.binDir);
  const lost = bytesLost(files, snapshot(first.binDir));
  const partial = partialFolders(mountpoint);
  const temps = await temporariesOf(process.pid);
  t.log(`disk full: ${binary}-byte binary on a 10 MB tmpfs; second extraction failed with: ${message.split("\n")[0].slice(0, 200)}`);
  t.is(after.manifest, before.manifest, "bin/MANIFEST.json has the same bytes");
  t.true(after.intact, after.bad.join("; "));
  t.is(lost.bytes, 0, lost.files.join(", "));
  t.deepEqual(partial, [], "no .bin-partial-* folder left");
  t.deepEqual(temps, []);

  // With room again, the same build completes from the cache.
  sh("mount", ["-o", "remount,size=32m", mountpoint]);
  const again = await buildImage(version(loaded, "1.0.1"), quiet);
  t.is(again.stepsRun, 0, "the failed build's steps were committed; only extraction reruns");
  t.true(again.extracted);
  t.is(again.version, "1.0.1");
  t.true(binState(again.binDir).intact);
  t.deepEqual(partialFolders(mountpoint), []);
  t.log(
    `disk full: previous bin/ kept (${lost.bytes} bytes lost, ${partial.length} partial folders, ${temps.length} temporary containers); after freeing space the build completed running ${again.stepsRun} steps`,
  );
});
