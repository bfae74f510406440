import { tarLib } from "./tarLib";
import { posix } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/** Tar entry fields the safety check looks at. */
export interface EntryHeader {
  path: string;
  type: string;
  linkpath?: string;
  mode?: number;
}

/** Entry types we accept from build output: regular files, folders and links inside the destination. */
const ALLOWED_TYPES = new Set(["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink", "Link"]);

/**
 * Why an entry must not be extracted, or null when it is safe. Pure.
 * Refuses absolute paths, `..`, links whose target leaves the destination, devices and FIFOs.
 */
export function entryProblem(e: EntryHeader): string | null {
  const path = e.path.replace(/\/+$/, "");
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) return `absolute path '${e.path}'`;
  if (path.split("/").includes("..")) return `path '${e.path}' climbs out with '..'`;
  if (!ALLOWED_TYPES.has(e.type)) return `'${e.path}' is a ${e.type} entry; only files, folders and links are extracted`;
  if (e.type === "SymbolicLink" || e.type === "Link") {
    const target = e.linkpath ?? "";
    if (target === "") return `link '${e.path}' has no target`;
    if (target.startsWith("/")) return `link '${e.path}' points to the absolute path '${target}' outside the destination`;
    // Symlinks resolve against their folder; hard links name a path from the archive root.
    const resolved = e.type === "SymbolicLink" ? posix.normalize(posix.join(posix.dirname(path), target)) : posix.normalize(target);
    if (resolved === ".." || resolved.startsWith("../")) return `link '${e.path}' points to '${target}' outside the destination`;
  }
  return null;
}

export class UnsafeArchiveError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`refused to extract ${source}: ${problems.join("; ")}. The destination was left as it was.`);
    this.name = "UnsafeArchiveError";
  }
}

/**
 * Extracts a tar stream into `dest` (an empty scratch folder), refusing unsafe entries.
 * Throws UnsafeArchiveError listing every refused entry; the caller discards `dest` then.
 * Returns the setuid/setgid bits it stripped, as notes.
 */
export async function extractTarSafely(stream: Readable, dest: string, source: string): Promise<string[]> {
  const problems: string[] = [];
  const notes: string[] = [];
  const unpack = tarLib().x({
    cwd: dest,
    strict: true,
    preserveOwner: false,
    // Extracted files get their mode without the process umask, minus the special bits (see filter).
    processUmask: 0,
    filter: (path, entry) => {
      const header: EntryHeader = {
        path,
        type: "type" in entry ? String(entry.type) : "File",
        linkpath: "linkpath" in entry ? (entry.linkpath as string | undefined) : undefined,
        mode: "mode" in entry ? (entry.mode as number | undefined) : undefined,
      };
      const problem = entryProblem(header);
      if (problem) {
        problems.push(problem);
        return false;
      }
      if (header.mode !== undefined && header.mode & 0o7000 && "mode" in entry) {
        notes.push(`stripped setuid/setgid/sticky bits from '${path}'`);
        (entry as { mode: number }).mode = header.mode & 0o777;
      }
      return true;
    },
  });
  await pipeline(stream, unpack);
  if (problems.length > 0) throw new UnsafeArchiveError(source, problems);
  return notes;
}
