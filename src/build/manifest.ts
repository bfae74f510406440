import { lstatSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { sha256 } from "../plan/hash";
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

/** Size, mode and sha256 of every file under a bin folder. */
export function describeFiles(dir: string): BinManifest["files"] {
  return listFiles(dir, (name) => name === MANIFEST_FILE || name === VERSION_FILE).map((path) => {
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

/** True when bin/ holds exactly the files its manifest lists, with the same bytes. */
export function binMatchesManifest(binDir: string, m: BinManifest): boolean {
  try {
    return JSON.stringify(describeFiles(binDir)) === JSON.stringify(m.files);
  } catch {
    return false;
  }
}
