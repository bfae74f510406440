import {
  closeSync,
  constants,
  copyFileSync,
  createReadStream,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { dockerStream } from "../docker/cli";
import { engineGetStream } from "../docker/engineApi";
import { createStopped, trackScratch, withTemporary } from "../docker/temporaries";
import { extractTarSafely, UnsafeArchiveError } from "../archive/safeExtract";
import { parseLdd } from "./ldd";
import { RUN_IMAGE_FILE } from "./runImageCache";
import { InputError } from "../imageSpec/errors";
import type { ResolvedSpec } from "../imageSpec/validate";

export { binMatchesManifest, describeFiles, LIBS_DIR, MANIFEST_FILE, readManifest, VERSION_FILE, type BinManifest } from "./manifest";
import { currentManifest, describeFiles, LIBS_DIR, MANIFEST_FILE, VERSION_FILE, type BinManifest } from "./manifest";
import { extractionHash } from "./stepKeys";

export interface ExtractOptions {
  spec: ResolvedSpec;
  /** The image's folder; bin/ goes inside. */
  dir: string;
  /** Tag of the final build-step image. */
  buildImage: string;
  buildKey: string;
  versionFile: string;
  log: (line: string) => void;
  /**
   * A container of the final build image's content to copy from (the build container, waiting after its
   * last step was committed); default: a container created from `buildImage` for this and removed after.
   */
  container?: string;
  /** Archives of container paths already on this machine (made by the build's driver, see packLines). */
  packed?: Map<string, string>;
  /** Resolves once `buildImage` exists (it may still be being committed while the files are copied). */
  buildImageReady?: Promise<void>;
}

export interface ExtractResult {
  manifest: BinManifest;
  /** False when bin/ already matched this build and nothing was copied. */
  extracted: boolean;
  notes: string[];
  /** Paths copied from the build container's own archives (the others came through the engine). */
  fromPacked: number;
}

async function copyOut(container: string, path: string, dest: string, follow = false, packed?: string): Promise<string[]> {
  let notes: string[] = [];
  const source = `${container}:${path}`;
  if (packed) {
    // The folder was writable from the container: never follow a link there to a file of this machine.
    const fd = openSync(packed, constants.O_RDONLY | constants.O_NOFOLLOW);
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw new Error(`the build container's archive of ${path} is not a regular file`);
    }
    return extractTarSafely(createReadStream("", { fd }), dest, source);
  }
  if (!follow) {
    // The Engine API's archive is what `docker cp c:/path -` prints, without starting the CLI.
    const query = new URLSearchParams({ path });
    const api = await engineGetStream(`/containers/${encodeURIComponent(container)}/archive?${query}`, async (s) => {
      notes = await extractTarSafely(s, dest, source);
    });
    if (api?.status === 200) return notes;
    if (api) throw new Error(`docker cp ${path}: ${api.error || `status ${api.status}`}`);
  }
  const run = await dockerStream(["cp", ...(follow ? ["-L"] : []), source, "-"], {
    onStdout: async (s: Readable) => {
      notes = await extractTarSafely(s, dest, source);
    },
  });
  if (run.exitCode !== 0) throw new Error(`docker cp ${path}: ${run.stderr.trim()}`);
  return notes;
}

/**
 * Swaps the complete folder in over bin/; the old bin/ stays until the new one is in place. Two builds of
 * one image may finish at once (Pulumi runs resources concurrently; a CLI build may run beside it): when
 * the other one's bin/ lands between our steps and holds the same build, it is kept; otherwise we retry.
 */
function swapIntoBin(partial: string, binDir: string, manifest: BinManifest): BinManifest {
  for (let attempt = 1; ; attempt++) {
    const old = existsSync(binDir) ? `${partial}.old` : null;
    try {
      if (old) renameSync(binDir, old);
      renameSync(partial, binDir);
      return manifest;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (attempt >= 5 || !["ENOTEMPTY", "EEXIST", "ENOENT"].includes(code ?? "")) throw e;
      const theirs = currentManifest(binDir, manifest.buildKey, manifest.extraction);
      if (theirs) return theirs;
    } finally {
      if (old) rmSync(old, { recursive: true, force: true });
    }
  }
}

/**
 * Copies the artifacts, the version file and (if asked) the shared libraries out of the final build image
 * into a scratch folder, writes the manifest, and only then renames it over bin/.
 * The build image's container is created but never started.
 */
export async function extractArtifacts(o: ExtractOptions): Promise<ExtractResult> {
  const { spec } = o;
  const binDir = join(o.dir, "bin");
  const extraction = extractionHash(spec);
  const current = currentManifest(binDir, o.buildKey, extraction);
  if (current) return { manifest: current, extracted: false, notes: [], fromPacked: 0 };
  mkdirSync(o.dir, { recursive: true });
  const partial = mkdtempSync(join(o.dir, ".bin-partial-"));
  const untrackPartial = trackScratch(partial);
  const notes: string[] = [];
  try {
    const inContainer = async <T>(fn: (name: string) => Promise<T>): Promise<T> =>
      o.container
        ? fn(o.container)
        : withTemporary("extract", async (t) => {
            await createStopped(t, o.buildImage, { entrypoint: "/bin/true" });
            return fn(t.name);
          });
    return await inContainer(async (name) => {
      for (const a of spec.build.artifacts) {
        try {
          notes.push(...(await copyOut(name, a.path, partial, false, o.packed?.get(a.path))));
        } catch (e) {
          if (e instanceof UnsafeArchiveError) throw e;
          // A local file-system error (ENOSPC, EACCES, ...) is not the spec's fault: say where it happened.
          const code = (e as NodeJS.ErrnoException).code;
          if (code)
            throw new Error(
              `image ${spec.name}: extracting '${a.path}' into ${o.dir} failed: ${(e as Error).message}${code === "ENOSPC" ? ". The disk is full: free space and build again (bin/ was left as it was)" : ""}`,
            );
          throw new InputError(`image ${spec.name}`, [
            `build.artifacts: '${a.path}' could not be copied out of the build image (${(e as Error).message}). Does a build step create it?`,
          ]);
        }
        if (!existsSync(join(partial, a.name)))
          throw new InputError(`image ${spec.name}`, [`build.artifacts: '${a.path}' is missing after the build`]);
      }

      const versionScratch = mkdtempSync(join(partial, ".version-"));
      try {
        await copyOut(name, o.versionFile, versionScratch, false, o.packed?.get(o.versionFile));
      } catch {
        throw new InputError(`image ${spec.name}`, [
          `build.version: the version file ${o.versionFile} is absent after the build; make a build step write it`,
        ]);
      }
      const vfile = join(versionScratch, o.versionFile.split("/").pop() as string);
      const version = existsSync(vfile) ? readFileSync(vfile, "utf8").trim().split("\n")[0].trim() : "";
      rmSync(versionScratch, { recursive: true, force: true });
      if (!version)
        throw new InputError(`image ${spec.name}`, [`build.version: ${o.versionFile} is empty; it must hold the version string`]);

      if (spec.run.bundleLibs) await o.buildImageReady;
      const libs = spec.run.bundleLibs ? await bundleLibs(o, partial) : [];

      const files = describeFiles(partial);
      const manifest: BinManifest = {
        image: spec.name,
        version,
        buildKey: o.buildKey,
        extraction,
        files,
        artifacts: spec.build.artifacts.map((a) => a.name),
        libs,
      };
      writeFileSync(join(partial, VERSION_FILE), `${version}\n`);
      writeFileSync(join(partial, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);

      // The last run image ID bin/ gave is keyed by the files' digests: it still holds if they are the same.
      if (existsSync(join(binDir, RUN_IMAGE_FILE))) copyFileSync(join(binDir, RUN_IMAGE_FILE), join(partial, RUN_IMAGE_FILE));
      const swapped = swapIntoBin(partial, binDir, manifest);
      for (const n of notes) o.log(`[${spec.name} extract] ${n}`);
      const fromPacked = [...spec.build.artifacts.map((a) => a.path), o.versionFile].filter((p) => o.packed?.has(p)).length;
      return { manifest: swapped, extracted: true, notes, fromPacked };
    });
  } finally {
    rmSync(partial, { recursive: true, force: true });
    untrackPartial();
  }
}

/** Resolves the loader and libraries of each artifact inside the build image and copies them to bin/libs/. */
async function bundleLibs(o: ExtractOptions, partial: string): Promise<string[]> {
  const files = o.spec.build.artifacts.map((a) => a.path);
  const out = await runInBuildImage(o.buildImage, 'for f in "$@"; do [ -f "$f" ] && ldd "$f" 2>&1; done; true', files);
  const parsed = parseLdd(out.stdout);
  if (parsed.missing.length)
    throw new InputError(`image ${o.spec.name}`, [`run.bundleLibs: libraries not found in the build image: ${parsed.missing.join(", ")}`]);
  const dest = join(partial, LIBS_DIR);
  mkdirSync(dest, { recursive: true });
  if (!(await archiveLibs(o.buildImage, parsed.paths, dest))) await copyLibsOneByOne(o.buildImage, parsed.paths, dest);
  for (const lib of parsed.paths) {
    if (!existsSync(join(dest, lib)) || !lstatSync(join(dest, lib)).isFile())
      throw new Error(`bundling ${lib} for ${o.spec.name}: it did not arrive as a regular file`);
  }
  o.log(`[${o.spec.name} extract] bundled ${parsed.paths.length} shared libraries`);
  return parsed.paths;
}

/** Runs a shell script in a named, tracked, self-removing container of the build image. */
async function runInBuildImage(image: string, script: string, args: string[], onStdout?: (s: Readable) => Promise<void>) {
  return withTemporary("libs", async ({ createArgs }) => {
    let stdout = "";
    const run = await dockerStream(["run", "--rm", ...createArgs, "--entrypoint", "/bin/sh", image, "-c", script, "sh", ...args], {
      onStdout: onStdout ?? (async (s) => void s.on("data", (c: Buffer) => (stdout += c.toString()))),
    });
    return { ...run, stdout };
  });
}

/**
 * One container archives every library with `tar -h`, which stores each link's target bytes under the
 * link's own name (the name the loader asks for). False when the build image has no tar.
 */
async function archiveLibs(image: string, libs: string[], dest: string): Promise<boolean> {
  const script = 'command -v tar >/dev/null 2>&1 || exit 127; exec tar -chf - -C / "$@"';
  const run = await runInBuildImage(
    image,
    script,
    libs.map((l) => l.replace(/^\/+/, "")),
    (s) => extractTarSafely(s, dest, `libraries of ${image}`).then(() => undefined),
  );
  if (run.exitCode === 127) return false;
  if (run.exitCode !== 0) throw new Error(`archiving the shared libraries in ${image} failed: ${run.stderr.trim()}`);
  return true;
}

/** Without tar in the build image: one `docker cp -L` per library. */
async function copyLibsOneByOne(image: string, libs: string[], dest: string): Promise<void> {
  await withTemporary("libs", async (t) => {
    const { name } = t;
    await createStopped(t, image, { entrypoint: "/bin/true" });
    for (const lib of libs) {
      const dir = join(dest, dirname(lib));
      mkdirSync(dir, { recursive: true });
      // -L follows the link (libfoo.so.1 -> libfoo.so.1.2.3) but names the entry after the target,
      // so copy into a scratch folder and store the bytes under the name the loader asks for.
      const scratch = mkdtempSync(join(dest, ".lib-"));
      await copyOut(name, lib, scratch, true);
      const got = readdirSync(scratch);
      if (got.length !== 1 || !lstatSync(join(scratch, got[0])).isFile())
        throw new Error(`bundling ${lib}: expected one file from docker cp -L, got ${got.join(", ")}`);
      renameSync(join(scratch, got[0]), join(dir, basename(lib)));
      rmSync(scratch, { recursive: true, force: true });
    }
  });
}
