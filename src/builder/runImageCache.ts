import { readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { sha256, stableJson } from "../common/hash";
import type { ResolvedSpec } from "../imageSpec/validate";
import type { BinManifest } from "./manifest";

/**
 * bin/.run-image.json: the run image ID bin/ gave the last time it was assembled, keyed by everything that
 * ID depends on (the files' digests and modes, artifacts, bundled library paths, version, name, run spec, SOURCE_DATE_EPOCH, architecture and the
 * source of the code that writes the archive). A no-op build then skips re-reading and re-hashing bin/
 * into a layer. Scratch bases only: a base
 * image's layers would have to be part of the key. Not part of the manifest or of any digest.
 */
export const RUN_IMAGE_FILE = ".run-image.json";

/** src/builder, also when this runs from the compiled bundle in dist/ (bin/bundled.js). */
const BUILD_SOURCES = basename(__dirname) === "dist" ? join(__dirname, "../src/builder") : __dirname;

/** The code whose output the ID is: a change to it must not reuse an ID it would no longer write. */
function writerSource(): string | null {
  try {
    return sha256(
      ["../archive/imageArchive.ts", "../archive/tarWriter.ts", "./assemble.ts"]
        .map((f) => readFileSync(join(BUILD_SOURCES, f), "utf8"))
        .join("\0"),
    );
  } catch {
    return null;
  }
}

/** The key for this bin/ and spec, or null when the ID cannot be reused (non-scratch base, unknown writer). Pure but for reading our sources. */
export function runImageKey(spec: ResolvedSpec, manifest: BinManifest, epochSeconds: number, architecture: string): string | null {
  const writer = writerSource();
  if (spec.run.base !== "scratch" || !writer) return null;
  return sha256(
    stableJson({
      files: manifest.files,
      version: manifest.version,
      artifacts: manifest.artifacts,
      libs: manifest.libs,
      name: spec.name,
      run: spec.run,
      epochSeconds,
      architecture,
      writer,
    }),
  );
}

export function cachedRunImage(binDir: string, key: string): { imageId: string; tags: string[] } | null {
  try {
    const c = JSON.parse(readFileSync(join(binDir, RUN_IMAGE_FILE), "utf8")) as { key?: string; imageId?: string; tags?: string[] };
    return c.key === key && typeof c.imageId === "string" && Array.isArray(c.tags) && c.tags.length
      ? { imageId: c.imageId, tags: c.tags }
      : null;
  } catch {
    return null;
  }
}

export function rememberRunImage(binDir: string, key: string, imageId: string, tags: string[]): void {
  try {
    writeFileSync(join(binDir, RUN_IMAGE_FILE), JSON.stringify({ key, imageId, tags }));
  } catch {
    // A read-only bin/ assembles again next time.
  }
}
