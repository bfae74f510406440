import { lstatSync, readFileSync, readlinkSync, type Stats, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256 } from "../common/hash";
import { listFiles } from "./files";

/**
 * bin/MANIFEST.json: what an extraction wrote and from which build. Reading it is cheap (no Docker, no
 * tar), so previews use this module alone to tell whether bin/ is current.
 */

/** What bin/MANIFEST.json records. */
export interface BinManifest {
  image: string;
  version: string;
  /** Cache key of the build image the files came from. */
  buildKey: string;
  /** What was taken from it (plan/steps.ts extractionHash): artifact paths, version file, libraries. */
  extraction: string;
  /** Every file under bin/ except MANIFEST.json and VERSION, sorted by path. */
  files: { path: string; size: number; mode: number; sha256: string }[];
  /** Artifact names (top-level entries that go to /cyberapp). */
  artifacts: string[];
  /** Bundled shared libraries, as absolute paths in the run image (stored under bin/libs/). */
  libs: string[];
}

export const MANIFEST_FILE = "MANIFEST.json";
export const VERSION_FILE = "VERSION";
export const LIBS_DIR = "libs";
/**
 * bin/.verified.json: the stat signatures of bin/'s files when they last matched the manifest, so a
 * preview re-reads the bytes only of what changed since (hashing every catalogue binary at each preview
 * would cost more than the rest of its diff). Not part of the manifest or of any digest.
 */
export const VERIFIED_FILE = ".verified.json";

/** bin/.run-image.json (runImageCache.ts): also not a file of the image. */
const RUN_IMAGE_FILE = ".run-image.json";
const notListed = (name: string) => name === MANIFEST_FILE || name === VERSION_FILE || name === VERIFIED_FILE || name === RUN_IMAGE_FILE;

/** Changes whenever a file's bytes, mode or inode do: any write updates ctime, which no tool can set back. */
const signature = (st: Stats) => `${st.ino}:${st.size}:${st.mode}:${st.mtimeMs}:${st.ctimeMs}`;

/** Size, mode and sha256 of every file under a bin folder. */
export function describeFiles(dir: string): BinManifest["files"] {
  return listFiles(dir, notListed).map((path) => {
    const p = join(dir, path);
    const st = lstatSync(p);
    const data = st.isSymbolicLink() ? Buffer.from(`link:${readlinkSync(p)}`) : readFileSync(p);
    return { path, size: st.size, mode: st.mode & 0o7777, sha256: sha256(data) };
  });
}

/** Reads bin/MANIFEST.json, or null when absent or unreadable. */
export function readManifest(binDir: string): BinManifest | null {
  try {
    return JSON.parse(readFileSync(join(binDir, MANIFEST_FILE), "utf8")) as BinManifest;
  } catch {
    return null;
  }
}

/** The manifest when bin/ holds what an extraction of this build would write (same build, same extraction, same bytes), else null. */
export function currentManifest(binDir: string, buildKey: string, extraction: string): BinManifest | null {
  const m = readManifest(binDir);
  return m && m.buildKey === buildKey && m.extraction === extraction && binMatchesManifest(binDir, m) ? m : null;
}

/** True when bin/ holds exactly the files its manifest lists, with the same bytes. */
export function binMatchesManifest(binDir: string, m: BinManifest): boolean {
  try {
    const listed = sha256(JSON.stringify(m.files));
    const signatures = JSON.stringify(listFiles(binDir, notListed).map((path) => [path, signature(lstatSync(join(binDir, path)))]));
    if (readVerified(binDir) === `${listed} ${signatures}`) return true;
    if (JSON.stringify(describeFiles(binDir)) !== JSON.stringify(m.files)) return false;
    try {
      writeFileSync(join(binDir, VERIFIED_FILE), JSON.stringify({ verified: `${listed} ${signatures}` }));
    } catch {
      // A read-only bin/ is verified again next time.
    }
    return true;
  } catch {
    return false;
  }
}

function readVerified(binDir: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(binDir, VERIFIED_FILE), "utf8")) as { verified?: string }).verified ?? null;
  } catch {
    return null;
  }
}
